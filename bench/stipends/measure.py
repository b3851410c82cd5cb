"""One measured step of the stipends bench, in a fresh Django process on the bench's database.

Run as ``python -m bench.stipends.measure build|verify|export YYYY-MM`` with ``DATABASE_URL`` pointing at the
scratch database (``bench.stipends`` does): it prints one JSON object with the step's wall time, its figures, and
the process's resident memory after Django was set up and at its peak (``VmHWM``: the high-water mark of the
whole process, Django, the ORM and every buffer included), and the CPU seconds the process and its PostgreSQL
backend used (the machine is shared: CPU time shows what the step costs when others take the cores).
"""

import json
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import django

from bench.platform import process_cpu_seconds


def resident(field: str) -> int:
    """A ``/proc/self/status`` memory figure (``VmRSS``, ``VmHWM``) in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    return 0


def build(month: date) -> dict[str, Any]:
    from tutoring.stipends import services
    from tutoring.stipends.models import LedgerLine

    statements = services.statements_build(month)
    return {"statements": statements, "ledger_lines": LedgerLine.objects.filter(day__gte=month).count()}


def verify(month: date) -> dict[str, Any]:
    from tutoring.stipends import services

    differences = services.statements_verify(month)
    return {"differences": len(differences), "first": differences[:10]}


def export(month: date) -> dict[str, Any]:
    """The hook for the city's XLSX export (``tutoring.stipends.exports.city_month_xlsx``), measured when that
    module is merged."""
    from tutoring.schools.models import City

    try:
        from tutoring.stipends import exports  # type: ignore[attr-defined]
    except ImportError:
        exports = None
    if exports is None or not hasattr(exports, "city_month_xlsx"):
        return {"measured": False, "why": "not measured: exports not merged"}
    result = exports.city_month_xlsx(City.objects.get(), month)
    size = None
    if isinstance(result, bytes | bytearray):
        size = len(result)
    elif hasattr(result, "getbuffer"):
        size = result.getbuffer().nbytes
    elif isinstance(result, str | Path) and Path(result).exists():
        size = Path(result).stat().st_size
    return {"measured": True, "bytes": size}


STEPS = {"build": build, "verify": verify, "export": export}


def backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


if __name__ == "__main__":
    step, month_text = sys.argv[1], sys.argv[2]
    django.setup()
    backend = backend_pid()
    before = resident("VmRSS")
    cpu, database_cpu = sum(os.times()[:2]), process_cpu_seconds(backend)
    started = time.perf_counter()
    figures = STEPS[step](date.fromisoformat(f"{month_text}-01"))
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": sum(os.times()[:2]) - cpu,
                "database_cpu": process_cpu_seconds(backend) - database_cpu,
                "rss_setup": before,
                "peak": resident("VmHWM"),
                **figures,
            }
        )
    )
