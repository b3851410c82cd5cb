"""Stored files for the media tools, which work on local paths."""

import shutil
from pathlib import Path

from django.core.files.storage import default_storage
from django.db.models.fields.files import FieldFile


def stored_file_local_copy(file: FieldFile, directory: str | Path) -> Path:
    """Storage may be remote (S3): media tools work on a local temporary copy in ``directory``."""
    if not file.name:
        raise ValueError(f"no file is stored in {file.field.name}")
    path = Path(directory) / Path(file.name).name
    with default_storage.open(file.name, "rb") as source, path.open("wb") as target:
        shutil.copyfileobj(source, target, 1 << 20)
    return path
