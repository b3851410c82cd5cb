"""`rebuild_index` from PostgreSQL: a scratch library database filled by COPY, then the real `index_rebuild()`.

Only this step needs Django, and only in the child processes it starts (`manage.py migrate`, then a process that
calls `tutoring.library.index.index_rebuild()` as `rebuild_index` does), with `DATABASE_URL` pointing at the
scratch database; the bench process itself talks to PostgreSQL through psycopg only.
"""

import os
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from bench.matching_quality.data import REPO
from bench.postgres import POSTGRES_URL, database_drop, database_recreate

DATABASE = "xw_bench_matching"
# Gaokao politics has no subject of that name in compulsory education: 道德与法治 is the nearest.
SUBJECT_ALIASES = {"政治": "道德与法治"}
ENTRY_COLUMNS = {
    "id": "int8",
    "text": "text",
    "subject_id": "int8",
    "grade": "int2",
    "knowledge_points": "jsonb",
    "photo": "varchar",
    "status": "varchar",
    "created_at": "timestamptz",
    "updated_at": "timestamptz",
    "vector": "bytea",
    "vector_model": "varchar",
}
ANSWER_COLUMNS = {
    "entry_id": "int8",
    "kind": "varchar",
    "status": "varchar",
    "solution": "text",
    "original": "varchar",
    "video": "varchar",
    "poster": "varchar",
    "error": "text",
    "created_at": "timestamptz",
}
REBUILD_SCRIPT = """
import time
import django

django.setup()
from tutoring.library.index import index_rebuild

def status(field):
    return int(next(l for l in open("/proc/self/status") if l.startswith(field)).split()[1]) * 1024

started = time.perf_counter()
size = index_rebuild()
print(time.perf_counter() - started, size, status("VmHWM"), status("VmRSS"))
"""


@dataclass(frozen=True)
class Rebuilt:
    seconds: float
    size: int
    peak_bytes: int
    resident_bytes: int


def _environment(index_directory: Path, model: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"{POSTGRES_URL}/{DATABASE}",
        "XUEWEN_INDEX_DIR": str(index_directory),
        "XUEWEN_MATCHING_MODEL": model,
        "LOG_LEVEL": "WARNING",
    }


def _copy(cursor: psycopg.Cursor[Any], table: str, columns: dict[str, str], rows: Iterable[Sequence[object]]) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with cursor.copy(statement) as copy:
        copy.set_types(list(columns.values()))
        for row in rows:
            copy.write_row(row)


def library_load(
    texts: list[str], subjects: list[str], grades: np.ndarray, vectors: np.ndarray, model: str, index_directory: Path
) -> float:
    """Recreate and migrate the scratch database, then COPY the questions in as active library entries with their
    float16 vectors (text j gets vectors[j mod len(vectors)]) and a ready worked solution each, so all are
    searchable; returns the seconds COPY and VACUUM ANALYZE took."""
    database_recreate(DATABASE)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input"],
        cwd=REPO,
        env=_environment(index_directory, model),
        check=True,
        capture_output=True,
    )
    stored = [vector.tobytes() for vector in vectors.astype(np.float16)]
    now = datetime.now(UTC)
    started = time.perf_counter()
    with psycopg.connect(f"{POSTGRES_URL}/{DATABASE}", autocommit=True) as connection:
        subject_ids = dict(connection.execute("SELECT name, id FROM schools_subject").fetchall())
        with connection.cursor() as cursor:
            entries = (
                (
                    j + 1,
                    text,
                    subject_ids[SUBJECT_ALIASES.get(subject, subject)],
                    int(grade),
                    Jsonb([]),
                    "",
                    "active",
                    now,
                    now,
                    stored[j % len(stored)],
                    model,
                )
                for j, (text, subject, grade) in enumerate(zip(texts, subjects, grades, strict=True))
            )
            _copy(cursor, "library_entry", ENTRY_COLUMNS, entries)
            answers = ((j + 1, "solution", "ready", "略", "", "", "", "", now) for j in range(len(texts)))
            _copy(cursor, "library_answer", ANSWER_COLUMNS, answers)
        connection.execute("VACUUM ANALYZE library_entry, library_answer")
    return time.perf_counter() - started


def rebuild_measure(index_directory: Path, model: str) -> Rebuilt:
    """`index_rebuild()` in a fresh process, as `rebuild_index` runs it: seconds (saving the snapshot included), the
    index size, and the process's peak and final resident memory."""
    completed = subprocess.run(
        [sys.executable, "-c", REBUILD_SCRIPT],
        cwd=REPO,
        env=_environment(index_directory, model),
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, size, peak, resident = completed.stdout.split()
    return Rebuilt(float(seconds), int(size), int(peak), int(resident))


def library_drop() -> None:
    database_drop(DATABASE)
