"""Stored files for the media tools, which work on local paths."""

from pathlib import Path

from django.core.files.storage import default_storage


def stored_file_local_copy(name: str, directory: str | Path) -> Path:
    """Storage may be remote (S3): media tools work on a local temporary copy in ``directory``."""
    path = Path(directory) / Path(name).name
    with default_storage.open(name, "rb") as source, path.open("wb") as target:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            target.write(chunk)
    return path
