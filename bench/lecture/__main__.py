"""Lecture bench: one lecturer drawing and speaking to hundreds or thousands of viewers over real websockets, on
one web process and on two, against a bare ``websockets`` server doing the same broadcast (the limit), and the
state sent to a viewer who joins a 45-minute lecture late.

Run from the repository root::

    .venv/bin/python -m bench.lecture [--viewers 500 1000 2000] [--processes 1 2] [--seconds 20]
                                      [--log-minutes 45] [--late-joiners 50] [--clients 2] [--bare-only]

It starts the platform as in production on a scratch PostgreSQL database and Redis (daphne processes,
``python -m config.web``, with the Redis channel layer; no workers: a live lecture needs none) and seeds a live
lecture whose log already holds ``--log-minutes`` of drawing without a pause (20 stroke chunks a second:
about 54,000 events for 45 minutes, inserted in bulk, see ``bench/lecture/seed.py``), and enough students.
Then, for each count of ``--viewers``:

- the limit: a bare ``websockets`` server in its own process (``bench/lecture/bare.py``) gets the lecturer's
  messages and writes them to every viewer, board events coalesced into one text frame every 60 ms (the
  lecture's FRAME_MS);
- for each count of ``--processes``, on fresh daphne processes (viewers spread evenly over them; the
  lecturer on the first): the viewers connect (``ws/lectures/<id>/?after=0``, each reads its snapshot;
  10 joining at a time per process, a refused handshake tried again up to three times);
- then, once the servers are idle, the lecturer draws for ``--seconds`` (a ``board.stroke`` chunk of three
  points every 50 ms, "v": 1, one-second strokes with ids starting with "t") and speaks (a 100 ms frame of
  16 kHz PCM every 100 ms);
- afterwards ``--late-joiners`` students join one after another, the viewers still connected, and each
  times its connect to its ``lecture.snapshot``.

The viewers run in ``--clients`` worker processes of their own and time every board event and voice frame
from the lecturer's send to their receipt. Printed per server and viewer count: the sockets opened and the
seconds that took, the handshakes tried again; p50/p99/max of the lecturer-to-viewer time; the share
delivered within 15 s of the last send (every event and frame counted at every open viewer, 100 % expected;
duplicates too); text frames and voice frames a second per viewer; the server's CPU (share of one core) and
its CPU per delivered message (an event or a frame at one viewer), the ratio of ours to the bare server's
(target ≤ 3); the resident memory per viewer. Then the late joiners' snapshot times (target p99 < 300 ms)
with the first snapshot of each fresh process (which loads the log), and the CPU of Redis, the lecturer, the
clients and the whole machine meanwhile.
Targets: 1,000 viewers on one web process at p99 < 250 ms, nothing dropped.

On our server, while the lecturer draws, viewers chosen at random ask 5 questions and upvote 20 a second in all
(the issue's load; the per-student limits refuse some, counted as such); the bare server gets none of that. The
soft limit of open files is raised to the hard limit (2,000
viewers need more than 4,000 sockets, client and server ends). Everything runs on this machine: the clients,
PostgreSQL and Redis compete with the servers for its cores.
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from bench.intake.figures import milliseconds
from bench.lecture.clients import (
    CHUNK_SECONDS,
    QUESTIONS_PER_SECOND,
    UPVOTES_PER_SECOND,
    VOICE_EVERY,
    drain,
    lecturer_draws,
    snapshot_open,
    viewers_process,
)
from bench.matching_quality.tables import table
from bench.platform import HOST, REPO, Platform, process_cpu_seconds

FRAME_SECONDS = 0.06  # the bare server's frames: FRAME_MS of tutoring/lectures/broadcast.py
GRACE_SECONDS = 15  # after the last send, how long the viewers may still wait for it
JOINING_PER_PROCESS = 10  # viewers opening their socket at once, per web process
QUIET_SHARE = 0.1  # before the lecturer starts, each server process's CPU falls below this share of a core
QUIET_SECONDS = 60  # or this long has passed
P99_TARGET_MS = 250
SNAPSHOT_P99_TARGET_MS = 300
CPU_RATIO_TARGET = 3
SOCKETS_PER_VIEWER = 2  # the client's end and the server's, both on this machine


@dataclass
class Run:
    """One broadcast: a server, a number of viewers, what they received and what it cost."""

    label: str
    viewers: int
    processes: int
    opened: int = 0
    open_seconds: float = 0.0
    retried: list[str] = field(default_factory=list)  # handshakes the server gave up on, tried again
    failures: list[str] = field(default_factory=list)  # sockets not opened after every try
    board_expected: int = 0
    voice_expected: int = 0
    board_latency: list[float] = field(default_factory=list)  # seconds
    voice_latency: list[float] = field(default_factory=list)
    board_received: int = 0
    voice_received: int = 0
    duplicates: int = 0
    frames: int = 0
    closed: int = 0
    seconds: float = 0.0  # from the lecturer's first send until every viewer had everything (or the deadline)
    drawing_seconds: float = 0.0
    server_cpu: float = 0.0  # CPU seconds of the server process(es) meanwhile
    other_cpu: dict[str, float] = field(default_factory=dict)
    resident_per_viewer: float | None = None
    cold_snapshots: list[float] = field(default_factory=list)
    late: list[float] = field(default_factory=list)
    late_bytes: int = 0
    late_events: int = 0
    replies: Counter = field(default_factory=Counter)  # the viewers' questions and upvotes: sent, and what came back

    @property
    def delivered(self) -> int:
        return self.board_received + self.voice_received

    @property
    def expected(self) -> int:
        return (self.board_expected + self.voice_expected) * self.opened

    @property
    def cpu_per_message(self) -> float:
        return self.server_cpu / max(1, self.delivered)


def files_limit_raise(viewers: int) -> int:
    """Raise the soft limit of open files (inherited by daphne and the clients) to the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY and soft < SOCKETS_PER_VIEWER * viewers + 200:
        sys.exit(f"{viewers} viewers need about {SOCKETS_PER_VIEWER * viewers + 200} open files; the limit is {soft}")
    return soft


class Viewers:
    """Viewer sockets opened by worker processes, each worker its share of ``sockets``."""

    def __init__(
        self,
        sockets: list[tuple[str, dict[str, str]]],
        *,
        clients: int,
        joining: int,
        phase: int,
        chunks: int,
        interact: bool,
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self.chunks = chunks
        self.connections: list[Connection] = []
        self.processes: list[BaseProcess] = []
        for number in range(min(clients, len(sockets))):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=viewers_process,
                args=(
                    theirs,
                    sockets[number::clients],
                    phase,
                    chunks,
                    chunks // VOICE_EVERY,
                    max(1, joining // clients),
                    1 / min(clients, len(sockets)) if interact else 0.0,
                ),
                daemon=True,
            )
            process.start()
            self.connections.append(ours)
            self.processes.append(process)

    async def _all(self) -> list[Any]:
        loop = asyncio.get_running_loop()
        return await asyncio.gather(*(loop.run_in_executor(None, connection.recv) for connection in self.connections))

    async def ready(self, run: Run) -> None:
        for _, opened, seconds, retried, failed in await self._all():
            run.opened += opened
            run.open_seconds = max(run.open_seconds, seconds)
            run.retried += retried
            run.failures += failed

    def cpu_seconds(self) -> float:
        return sum(process_cpu_seconds(process.pid) for process in self.processes if process.pid)

    async def broadcast(
        self,
        lecturer: ClientConnection,
        run: Run,
        *,
        phase: int,
        page: int,
        seconds: float,
        server_cpu: Callable[[], dict[str, float]],
    ) -> None:
        """The lecturer draws and speaks; every viewer's tally goes into ``run``."""
        before, clients_before, machine_before = server_cpu(), self.cpu_seconds(), machine_busy_seconds()
        for connection in self.connections:
            connection.send(("start",))
        started = time.perf_counter()
        await lecturer_draws(lecturer, phase=phase, page=page, seconds=seconds)
        run.drawing_seconds = time.perf_counter() - started
        for connection in self.connections:
            connection.send(("end", time.monotonic_ns() + GRACE_SECONDS * 10**9))
        tallies = [tally for _, tally in await self._all()]
        run.seconds = time.perf_counter() - started
        after = server_cpu()
        run.server_cpu = after.pop("server") - before.pop("server")
        run.other_cpu = {name: after[name] - before[name] for name in after}
        run.other_cpu["clients"] = self.cpu_seconds() - clients_before
        run.other_cpu["machine (all cores)"] = machine_busy_seconds() - machine_before
        run.board_expected, run.voice_expected = self.chunks, self.chunks // VOICE_EVERY
        for tally in tallies:
            run.board_received += tally["board_received"]
            run.voice_received += tally["voice_received"]
            run.duplicates += tally["board_duplicates"] + tally["voice_duplicates"]
            run.frames += tally["frames"]
            run.closed += tally["closed"]
            run.replies.update(tally["replies"])
            run.board_latency += [ns / 1e9 for ns in array("q", tally["board_latency"])]
            run.voice_latency += [ns / 1e9 for ns in array("q", tally["voice_latency"])]

    def close(self) -> None:
        for connection in self.connections:
            connection.send(("close",))
        for process in self.processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()


def machine_busy_seconds() -> float:
    """CPU seconds this machine's cores have been busy (everything on it, the other work included)."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split()[1:9]]  # user … steal
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # not idle, not waiting for the disk


async def quiet(cpu_seconds: Callable[[], float]) -> None:
    """Wait until a server process is idle after the viewers joined (what they started is done), at most
    QUIET_SECONDS."""
    deadline = time.monotonic() + QUIET_SECONDS
    before = cpu_seconds()
    while time.monotonic() < deadline:
        await asyncio.sleep(1)
        after = cpu_seconds()
        if after - before < QUIET_SHARE:
            return
        before = after


def lecture_url(base: str, lecture: int) -> str:
    return f"{base.replace('http', 'ws', 1)}/ws/lectures/{lecture}/?after=0"


async def ours_run(platform: Platform, seeded: dict, run: Run, options: argparse.Namespace, phase: int) -> None:
    bases = platform.base_urls[: run.processes]
    lecture, students = seeded["lecture"], seeded["students"]
    late_cookies = students[max(options.viewers) :]

    def headers(base: str, cookie: str) -> dict[str, str]:
        return {"Cookie": cookie, "Origin": base}

    probes = []  # the first socket on each fresh process: it loads the lecture's board from the log
    for number, base in enumerate(bases):
        socket, seconds, *_ = await snapshot_open(lecture_url(base, lecture), headers(base, late_cookies[number]))
        probes.append(socket)
        run.cold_snapshots.append(seconds)
    lecturer, *_ = await snapshot_open(lecture_url(bases[0], lecture), headers(bases[0], seeded["lecturer"]))
    draining = [asyncio.create_task(drain(socket)) for socket in [lecturer, *probes]]
    names = [f"web{number}" for number in range(run.processes)]
    resident_before = sum(platform.resident_bytes(name) for name in names)
    sockets = [
        (lecture_url(bases[n % len(bases)], lecture), headers(bases[n % len(bases)], students[n]))
        for n in range(run.viewers)
    ]
    chunks = round(options.seconds / CHUNK_SECONDS)
    viewers = Viewers(
        sockets,
        clients=options.clients,
        joining=JOINING_PER_PROCESS * run.processes,
        phase=phase,
        chunks=chunks,
        interact=True,
    )
    try:
        await viewers.ready(run)
        await quiet(lambda: sum(platform.cpu_seconds()[name] for name in names) / len(names))
        run.resident_per_viewer = (sum(platform.resident_bytes(name) for name in names) - resident_before) / max(
            1, run.opened
        )

        def server_cpu() -> dict[str, float]:
            used = platform.cpu_seconds()
            return {
                "server": sum(used[name] for name in names),
                "redis": used["redis-server"],
                "lecturer": used["client"],
            }

        await viewers.broadcast(
            lecturer, run, phase=phase, page=seeded["page"], seconds=options.seconds, server_cpu=server_cpu
        )
        for number in range(options.late_joiners):
            base = bases[number % len(bases)]
            cookie = late_cookies[len(bases) + number % (len(late_cookies) - len(bases))]
            socket, seconds, size, events, _ = await snapshot_open(lecture_url(base, lecture), headers(base, cookie))
            run.late.append(seconds)
            run.late_bytes, run.late_events = size, events
            await socket.close()
    finally:
        viewers.close()
        for task in draining:
            task.cancel()
        await asyncio.gather(*(socket.close() for socket in [lecturer, *probes]), return_exceptions=True)


async def bare_run(run: Run, options: argparse.Namespace, phase: int) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.lecture.bare", str(FRAME_SECONDS)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert server.stdout is not None
        url = f"ws://{HOST}:{server.stdout.readline().strip()}"
        lecturer = await websockets.connect(f"{url}/lecturer", compression=None, ping_interval=None)
        draining = asyncio.create_task(drain(lecturer))
        chunks = round(options.seconds / CHUNK_SECONDS)
        sockets: list[tuple[str, dict[str, str]]] = [(f"{url}/viewer", {})] * run.viewers
        viewers = Viewers(
            sockets, clients=options.clients, joining=JOINING_PER_PROCESS, phase=phase, chunks=chunks, interact=False
        )
        try:
            await viewers.ready(run)
            await quiet(lambda: process_cpu_seconds(server.pid))
            await viewers.broadcast(
                lecturer,
                run,
                phase=phase,
                page=0,
                seconds=options.seconds,
                server_cpu=lambda: {"server": process_cpu_seconds(server.pid)},
            )
        finally:
            viewers.close()
            draining.cancel()
            await lecturer.close()
    finally:
        server.terminate()
        server.wait(timeout=15)


def ratio(run: Run, bare: dict[int, Run]) -> str:
    limit = bare.get(run.viewers)
    if limit is None or run is limit or not limit.delivered:
        return ""
    return f"{run.cpu_per_message / limit.cpu_per_message:.2f}"


def report(runs: list[Run], options: argparse.Namespace, seeded: dict | None) -> None:
    bare = {run.viewers: run for run in runs if run.processes == 0}
    print(
        f"\nthe lecturer draws a stroke chunk every {CHUNK_SECONDS * 1000:.0f} ms and speaks a 100 ms voice frame"
        f" every 100 ms for {options.seconds:g} s; viewers in {options.clients} client processes"
        + (f"; the log held {seeded['events']} events ({options.log_minutes:g} minutes)" if seeded else "")
        + f"\non our server viewers meanwhile ask {QUESTIONS_PER_SECOND} questions and upvote {UPVOTES_PER_SECOND}"
        " a second in all (none on the bare server)\n"
    )
    rows = []
    for run in runs:
        seconds = run.drawing_seconds or 1.0
        rows.append(
            [
                run.label,
                str(run.viewers),
                f"{run.opened} in {run.open_seconds:.0f} s",
                str(len(run.retried)),
                f"{run.delivered / max(1, run.expected):.2%}",
                str(run.expected - run.delivered),
                str(run.duplicates),
                *milliseconds(run.board_latency),
                *milliseconds(run.voice_latency)[:2],
                f"{run.frames / max(1, run.opened) / seconds:.1f}",
                f"{run.voice_received / max(1, run.opened) / seconds:.1f}",
                f"{run.server_cpu / max(run.seconds, 1e-9):.0%}",
                f"{run.cpu_per_message * 1e6:.1f}",
                ratio(run, bare),
                "" if run.resident_per_viewer is None else f"{run.resident_per_viewer / 1024:.0f}",
            ]
        )
    table(
        [
            "server",
            "viewers",
            "open",
            "retried",
            "delivered",
            f"not in {GRACE_SECONDS} s",
            "twice",
            "board p50 ms",
            "p99",
            "max",
            "voice p50 ms",
            "p99",
            "frames/s/viewer",
            "voice/s/viewer",
            "server CPU",
            "CPU µs/message",
            "÷ bare",
            "KiB/viewer",
        ],
        rows,
    )
    for run in runs:
        if run.replies:
            answered = ", ".join(f"{kind} {count}" for kind, count in sorted(run.replies.items()))
            print(f"{run.label}, {run.viewers} viewers: questions and upvotes: {answered}")
    print(
        f"targets: 1,000 viewers on one web process at board p99 < {P99_TARGET_MS} ms, 100 % delivered,"
        f" CPU per delivered message ≤ {CPU_RATIO_TARGET} × the bare server's\n"
    )
    ours = [run for run in runs if run.processes]
    if ours:
        table(
            ["late joiner → lecture.snapshot", "viewers", "n", "p50 ms", "p99", "max", "KiB", "events", "first (cold)"],
            [
                [
                    run.label,
                    str(run.viewers),
                    str(len(run.late)),
                    *milliseconds(run.late),
                    f"{run.late_bytes / 1024:.0f}",
                    str(run.late_events),
                    " ".join(f"{seconds * 1000:.0f}" for seconds in run.cold_snapshots),
                ]
                for run in ours
            ],
        )
        print(
            f"target: p99 < {SNAPSHOT_P99_TARGET_MS} ms; 'first (cold)' is each fresh process's first socket, which"
            " loads the board from the log\n"
        )
    others = sorted({name for run in runs for name in run.other_cpu})
    table(
        ["CPU while broadcasting (share of one core)", *others],
        [
            [
                f"{run.label}, {run.viewers} viewers",
                *(
                    f"{run.other_cpu[name] / max(run.seconds, 1e-9):.0%}" if name in run.other_cpu else ""
                    for name in others
                ),
            ]
            for run in runs
        ],
    )
    print(
        f"PostgreSQL's CPU is left out: its server is shared with other work on this machine; 'machine' is every"
        f" process on its {os.cpu_count()} cores (the other work included)"
    )
    for run in runs:
        if run.retried or run.failures or run.closed:
            print(
                f"{run.label}, {run.viewers} viewers: {run.closed} closed early;"
                f" handshakes tried again: {dict(Counter(run.retried))}; not opened: {dict(Counter(run.failures))}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.lecture", description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, nargs="+", default=[500, 1000, 2000])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2], help="web processes the viewers share")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the lecturer draws and speaks")
    parser.add_argument("--log-minutes", type=float, default=45.0, help="the lecture's log before the bench")
    parser.add_argument("--late-joiners", type=int, default=50)
    parser.add_argument("--clients", type=int, default=2, help="worker processes holding the viewers' sockets")
    parser.add_argument("--bare-only", action="store_true", help="only the bare websockets server (the limit)")
    options = parser.parse_args()
    limit = files_limit_raise(max(options.viewers))
    print(f"open files limit (soft): {limit}")
    runs: list[Run] = []
    phases = iter(range(1, 10_000))
    if options.bare_only:
        for viewers in options.viewers:
            run = Run(label="bare websockets", viewers=viewers, processes=0)
            asyncio.run(bare_run(run, options, next(phases)))
            runs.append(run)
        report(runs, options, None)
        return
    with tempfile.TemporaryDirectory(prefix="xuewen-bench-lecture-") as scratch:
        seeded_file = Path(scratch) / "lecture.json"
        students = max(options.viewers) + max(options.processes) + options.late_joiners
        seed = ["-m", "bench.lecture.seed", str(students), str(options.log_minutes), str(seeded_file)]
        with Platform(name="lecture", seed=seed, servers=max(options.processes)) as platform:
            try:
                seeded = json.loads(seeded_file.read_text())
                for viewers in options.viewers:
                    run = Run(label="bare websockets", viewers=viewers, processes=0)
                    asyncio.run(bare_run(run, options, next(phases)))
                    runs.append(run)
                    for processes in options.processes:
                        for number in range(processes):
                            platform.web_restart(number)
                        label = f"xuewen, {processes} process" + ("es" if processes > 1 else "")
                        run = Run(label=label, viewers=viewers, processes=processes)
                        asyncio.run(ours_run(platform, seeded, run, options, next(phases)))
                        runs.append(run)
            except BaseException:
                print(platform.logs(), file=sys.stderr)
                raise
    report(runs, options, seeded)


if __name__ == "__main__":
    main()
