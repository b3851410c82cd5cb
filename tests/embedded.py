"""The embedded defaults (`make demo`: SQLite, in-memory channel layer, eager tasks) in a fresh process.

The suite runs on PostgreSQL; code whose SQL differs by database (JSON functions, casts) is also run here, the way
the demo runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[1]


def embedded_environment(tmp_path: Path) -> dict[str, str]:
    """This process's environment without any service setting: what `make demo` runs with, on a fresh file."""
    services = ("DATABASE_", "REDIS_", "CELERY_", "CHANNEL_", "MEDIA_", "S3_", "XUEWEN_", "DJANGO_")
    return {
        **{name: value for name, value in os.environ.items() if not name.startswith(services)},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "XUEWEN_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'xuewen.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
    }


def embedded_call(module: str, function: str, tmp_path: Path) -> Any:
    """What `module.function()` returns (JSON-compatible) when called on a freshly migrated embedded database."""
    script = (
        "import django, json; django.setup(); from django.core.management import call_command;"
        " call_command('migrate', verbosity=0);"
        f" from {module} import {function}; print(json.dumps({function}()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=embedded_environment(tmp_path),
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])
