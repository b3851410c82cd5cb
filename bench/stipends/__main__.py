"""Run the stipends bench; see the package docstring for what it measures and prints."""

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date
from typing import Any

import psycopg

from bench.matching_quality.tables import table
from bench.postgres import POSTGRES_URL, database_drop, database_recreate
from bench.stipends.seed import city_month_load

DATABASE = "xuewen_bench_stipends"
BUILD_TARGET_SECONDS = 120
MEMORY_TARGET_BYTES = 1024**3
EXPORT_TARGET_SECONDS = 30
MIB = 1024**2


def environment() -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "DATABASE_URL": f"{POSTGRES_URL}/{DATABASE}",
        "DATABASE_POOL_MAX_SIZE": "0",
        "LOG_LEVEL": "WARNING",
    }


def step(name: str, month: str) -> dict[str, Any]:
    """One measured step in a fresh process (``bench.stipends.measure``)."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.stipends.measure", name, month],
        env=environment(),
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise SystemExit(f"{name} failed:\n{completed.stdout}{completed.stderr}")
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def cpu(measured: dict[str, Any]) -> str:
    return f"{measured['cpu']:.0f} + {measured['database_cpu']:.0f} s"


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stipends", description=__doc__.splitlines()[0])
    parser.add_argument("--month", default="2026-11", help="YYYY-MM")
    parser.add_argument("--schools", type=int, default=150)
    parser.add_argument("--teachers", type=int, default=2000)
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=6, help="board and chat events per session")
    parser.add_argument("--voice", type=int, default=2, help="voice chunks per session")
    parser.add_argument("--lectures", type=int, default=300)
    parser.add_argument("--helped", type=int, default=100_000, help="students who said 解决了 to a teacher's video")
    parser.add_argument("--reuse", action="store_true", help="measure the database a --keep run left")
    parser.add_argument("--keep", action="store_true", help="leave the database for profiling or --reuse")
    options = parser.parse_args()
    month = date.fromisoformat(f"{options.month}-01")
    print(f"Machine: {load()}")
    try:
        if not options.reuse:
            started = time.perf_counter()
            database_recreate(DATABASE)
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--no-input"],
                env=environment(),
                check=True,
                capture_output=True,
            )
            migrated = time.perf_counter()
            rows = city_month_load(
                f"{POSTGRES_URL}/{DATABASE}",
                month=month,
                schools=options.schools,
                teachers=options.teachers,
                students=options.students,
                sessions=options.sessions,
                events_per_session=options.events,
                voice_per_session=options.voice,
                lectures=options.lectures,
                helped=options.helped,
            )
            generated = time.perf_counter()
            print(
                f"Generated the city month in {generated - migrated:.0f} s (COPY, then VACUUM ANALYZE; migrating "
                f"the fresh database took {migrated - started:.0f} s before):\n"
            )
            table(
                ["table", "rows"], [(name, f"{count:,}") for name, count in sorted(rows.items(), key=lambda r: -r[1])]
            )
        else:  # what earlier builds left (their deleted ledger lines, statements) as a fresh database has it
            with psycopg.connect(f"{POSTGRES_URL}/{DATABASE}", autocommit=True) as connection:
                connection.execute("VACUUM FULL ANALYZE stipends_ledgerline, stipends_statement, stipends_statementday")
        print(f"Building every statement of {options.month} ({load()}) ...")
        built = step("build", options.month)
        print(f"Verifying ({load()}) ...")
        verified = step("verify", options.month)
        print(f"Exporting ({load()}) ...\n")
        exported = step("export", options.month)
    finally:
        if not options.keep:
            database_drop(DATABASE)
    table(
        ["step", "time", "CPU: process + PostgreSQL", "peak memory (process)", "result", "target"],
        [
            (
                "statements_build (ledger + statements)",
                f"{built['seconds']:.1f} s",
                cpu(built),
                f"{built['peak'] / MIB:.0f} MiB (Django alone {built['rss_setup'] / MIB:.0f})",
                f"{built['statements']:,} statements, {built['ledger_lines']:,} ledger lines",
                f"< {BUILD_TARGET_SECONDS} s, < {MEMORY_TARGET_BYTES // MIB} MiB",
            ),
            (
                "statements_verify",
                f"{verified['seconds']:.1f} s",
                cpu(verified),
                f"{verified['peak'] / MIB:.0f} MiB",
                f"{verified['differences']} differences",
                "0 differences",
            ),
            (
                "city XLSX export (exports.city_month_xlsx)",
                f"{exported['seconds']:.1f} s",
                cpu(exported),
                f"{exported['peak'] / MIB:.0f} MiB",
                f"{exported['bytes']:,} bytes",
                f"< {EXPORT_TARGET_SECONDS} s",
            ),
        ],
    )
    for difference in verified["first"]:
        print(difference)
    met = (
        built["seconds"] < BUILD_TARGET_SECONDS
        and built["peak"] < MEMORY_TARGET_BYTES
        and verified["differences"] == 0
        and exported["seconds"] < EXPORT_TARGET_SECONDS
    )
    print(f"Targets {'met' if met else 'NOT met'}. {load()}.")


if __name__ == "__main__":
    main()
