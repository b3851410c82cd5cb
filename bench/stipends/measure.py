"""One measured step of the stipends bench, in a fresh Django process on the bench's database.

Run as ``python -m bench.stipends.measure build|verify|export YYYY-MM`` with ``DATABASE_URL`` pointing at the
scratch database (``bench.stipends`` does): it prints one JSON object with the step's wall time, its figures, and
the process's resident memory after Django was set up and at its peak (``VmHWM``: the high-water mark of the
whole process, Django, the ORM and every buffer included), and the CPU seconds the process (all its threads) and
the PostgreSQL backends serving it used (the machine is shared: CPU time shows what a step costs whatever else
takes the cores).
"""

import json
import os
import sys
import threading
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
    from tutoring.schools.models import City
    from tutoring.stipends import exports

    return {"bytes": len(exports.city_month_xlsx(City.objects.get(), month))}


STEPS = {"build": build, "verify": verify, "export": export}


class DatabaseCpu:
    """The CPU seconds of the PostgreSQL backends serving the bench's database (the step's connection and any it
    opens, such as the ledger's writer thread), sampled twice a second from /proc while the step runs; parallel
    query workers, named after no database, are not counted."""

    def __init__(self, database: str) -> None:
        self.database = database.encode()
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.sample()
        self.thread.start()

    def sample(self) -> None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"postgres:") and b" " + self.database + b" " in title:
                pid = int(entry.name)
                seconds = process_cpu_seconds(pid)
                self.first.setdefault(pid, seconds)
                self.last[pid] = seconds

    def _sample(self) -> None:
        while self.running:
            time.sleep(0.5)
            self.sample()

    def seconds(self) -> float:
        self.running = False
        self.thread.join()
        self.sample()
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


if __name__ == "__main__":
    step, month_text = sys.argv[1], sys.argv[2]
    django.setup()
    from django.db import connection

    connection.ensure_connection()
    before = resident("VmRSS")
    cpu, database_cpu = sum(os.times()[:2]), DatabaseCpu(connection.settings_dict["NAME"])
    started = time.perf_counter()
    figures = STEPS[step](date.fromisoformat(f"{month_text}-01"))
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": sum(os.times()[:2]) - cpu,
                "database_cpu": database_cpu.seconds(),
                "rss_setup": before,
                "peak": resident("VmHWM"),
                **figures,
            }
        )
    )
