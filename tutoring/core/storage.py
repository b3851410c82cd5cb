"""Stored files for the media tools, which work on local paths."""

import shutil
from pathlib import Path

from django.core.files.storage import default_storage
from django.db.models.fields.files import FieldFile


def stored_file_local_copy(file: FieldFile | str, directory: str | Path) -> Path:
    """Storage may be remote (S3): media tools work on a local temporary copy in ``directory`` of a stored file
    (a file field's, or by its name)."""
    name = file if isinstance(file, str) else file.name
    if not name:
        raise ValueError(f"no file is stored in {file if isinstance(file, str) else file.field.name}")
    path = Path(directory) / Path(name).name
    with default_storage.open(name, "rb") as source, path.open("wb") as target:
        shutil.copyfileobj(source, target, 1 << 20)
    return path
