"""Run the routing bench; see the package docstring for what it measures and prints."""

import argparse
import asyncio
import contextlib
import json
import random
import resource
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import websockets

from bench.intake.figures import milliseconds
from bench.matching_quality.tables import table
from bench.platform import Platform

CONNECT_CONCURRENCY = 50
P99_TARGET_MS = 1000
P50_TARGET_MS = 200
SETTLE_SECONDS = 3


@dataclass
class Record:
    """Client-side timestamps (time.time: the platform's database records on the same clock) per question, and
    counts per teacher."""

    stuck: dict[int, float] = field(default_factory=dict)
    answered: dict[int, float] = field(default_factory=dict)  # the 还是不会 request was answered
    offered: dict[int, float] = field(default_factory=dict)  # the first offer of a question on any teacher
    accepted: dict[int, float] = field(default_factory=dict)  # the teacher's accept was sent
    noticed: dict[int, float] = field(default_factory=dict)  # the student's socket said with_teacher
    offers: Counter[int] = field(default_factory=Counter)
    answers: Counter[int] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    http_failures: list[str] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)


def socket_url(base: str, path: str) -> str:
    return base.replace("http", "ws", 1) + path


async def socket_open(base: str, path: str, cookie: str, gate: asyncio.Semaphore):
    async with gate:
        return await websockets.connect(
            socket_url(base, path), additional_headers={"Cookie": cookie, "Origin": base}, open_timeout=60
        )


async def teacher_run(socket, teacher_id: int, record: Record, options: argparse.Namespace, rng: random.Random) -> None:
    async def answer_offer(offer: dict[str, Any]) -> None:
        await asyncio.sleep(rng.uniform(*options.think))
        question = offer["question"]["id"]
        if rng.random() < options.decline:
            await socket.send(json.dumps({"type": "offer.decline", "offer_id": offer["id"]}))
        else:
            record.accepted[question] = time.time()
            await socket.send(json.dumps({"type": "offer.accept", "offer_id": offer["id"]}))

    async def finish(ticket_id: int) -> None:
        await asyncio.sleep(rng.uniform(*options.answer))
        with contextlib.suppress(websockets.ConnectionClosed):  # the run may have ended meanwhile
            await socket.send(json.dumps({"type": "ticket.finish", "ticket_id": ticket_id}))

    tasks = set()
    async for raw in socket:
        event = json.loads(raw)
        if event["type"] == "offer.created":
            record.offered.setdefault(event["offer"]["question"]["id"], time.time())
            record.offers[teacher_id] += 1
            task = asyncio.create_task(answer_offer(event["offer"]))
        elif event["type"] == "ticket.assigned":
            record.answers[teacher_id] += 1
            task = asyncio.create_task(finish(event["ticket"]["id"]))
        elif event["type"] == "error":
            record.refusals[event["code"]] += 1
            continue
        else:
            continue
        tasks.add(task)
        task.add_done_callback(tasks.discard)


async def student_watch(socket, question: int, record: Record, total: int) -> None:
    async for raw in socket:
        event = json.loads(raw)
        if event["type"] == "question.status" and event["question"]["status"] == "with_teacher":
            record.noticed.setdefault(question, time.time())
            if len(record.noticed) == total:
                record.done.set()


async def stuck_send(client: httpx.AsyncClient, base: str, student: dict, record: Record) -> None:
    csrf = secrets.token_hex(16)  # 32 characters: a valid unmasked CSRF secret, sent as cookie and header
    record.stuck[student["question"]] = time.time()
    response = await client.post(
        f"{base}/api/v1/questions/{student['question']}/feedback",
        json={"choice": "still_stuck"},
        headers={"Cookie": f"{student['cookie']}; csrftoken={csrf}", "X-CSRFToken": csrf, "Origin": base},
    )
    record.answered[student["question"]] = time.time()
    if response.status_code != 200:
        record.http_failures.append(f"{response.status_code} {response.text[:200]}")


async def until_on_duty(socket) -> float:
    """Wait until the teacher is on duty; returns the console's heartbeat interval from the snapshot."""
    heartbeat = 10.0
    async for raw in socket:
        event = json.loads(raw)
        if event["type"] == "duty.snapshot":
            heartbeat = float(event["heartbeat_seconds"])
        if event["type"] in ("duty.state", "duty.snapshot") and event["duty"]["on_duty"]:
            return heartbeat
    return heartbeat


async def heartbeats(socket, seconds: float) -> None:
    """What the duty console page does: without it the sweep takes a silent teacher off duty."""
    while True:
        await asyncio.sleep(seconds)
        await socket.send(json.dumps({"type": "duty.heartbeat"}))


async def load_run(
    platform: Platform, people: dict, options: argparse.Namespace
) -> tuple[Record, float, dict[str, float]]:
    record = Record()
    rng = random.Random(7)
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    bases = platform.base_urls
    teachers = await asyncio.gather(
        *(socket_open(bases[n % len(bases)], "/ws/duty/", t["cookie"], gate) for n, t in enumerate(people["teachers"]))
    )
    for socket in teachers:
        await socket.send(json.dumps({"type": "duty.available", "available": True}))
    intervals = await asyncio.gather(*(until_on_duty(socket) for socket in teachers))
    students = await asyncio.gather(
        *(
            socket_open(bases[n % len(bases)], f"/ws/questions/{s['question']}/", s["cookie"], gate)
            for n, s in enumerate(people["students"])
        )
    )
    total = len(people["students"])
    background = (
        [
            asyncio.create_task(teacher_run(socket, t["id"], record, options, rng))
            for socket, t in zip(teachers, people["teachers"], strict=True)
        ]
        + [
            asyncio.create_task(heartbeats(socket, seconds))
            for socket, seconds in zip(teachers, intervals, strict=True)
        ]
        + [
            asyncio.create_task(student_watch(socket, s["question"], record, total))
            for socket, s in zip(students, people["students"], strict=True)
        ]
    )
    started = time.perf_counter()
    cpu_before = platform.cpu_seconds()
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=100)) as client:
        sends = []
        for n, student in enumerate(people["students"]):
            await asyncio.sleep(max(0.0, started + n / options.rate - time.perf_counter()))
            sends.append(asyncio.create_task(stuck_send(client, bases[n % len(bases)], student, record)))
        await asyncio.gather(*sends)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(record.done.wait(), timeout=options.timeout)
    seconds = time.perf_counter() - started
    cpu_after = platform.cpu_seconds()
    for task in background:
        task.cancel()
    await asyncio.gather(*(socket.close() for socket in [*teachers, *students]), return_exceptions=True)
    return record, seconds, {name: cpu_after[name] - cpu_before.get(name, 0.0) for name in cpu_after}


def database_stamps(database_url: str) -> dict[int, tuple[float, float | None, float | None]]:
    """Per question, when (epoch seconds) its ticket was stored, its first offer stored and the offer that was
    accepted stored as accepted: what the hops of each latency are measured between."""
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT t.question_id, extract(epoch FROM min(t.queued_at)), extract(epoch FROM min(o.created_at)),"
            " extract(epoch FROM max(o.responded_at) FILTER (WHERE o.status = 'accepted'))"
            " FROM routing_ticket t LEFT JOIN routing_offer o ON o.ticket_id = t.id GROUP BY t.question_id"
        ).fetchall()
    return {
        question: (float(queued), None if offered is None else float(offered), None if taken is None else float(taken))
        for question, queued, offered, taken in rows
    }


def hops(record: Record, stamps: dict[int, tuple[float, float | None, float | None]]) -> list[list[str]]:
    """Each latency split where the database saw it: rows of (hop, n, p50, p99, max) in milliseconds."""
    to_offer: dict[str, list[float]] = {
        "request → ticket stored": [],
        "→ first offer stored": [],
        "→ on the socket": [],
    }
    to_notice: dict[str, list[float]] = {"accept sent → accepted stored": [], "→ student's notice": []}
    for question, (queued, offered, taken) in stamps.items():
        if question in record.stuck and offered is not None and question in record.offered:
            to_offer["request → ticket stored"].append(queued - record.stuck[question])
            to_offer["→ first offer stored"].append(offered - queued)
            to_offer["→ on the socket"].append(record.offered[question] - offered)
        if question in record.accepted and taken is not None and question in record.noticed:
            to_notice["accept sent → accepted stored"].append(taken - record.accepted[question])
            to_notice["→ student's notice"].append(record.noticed[question] - taken)
    return [
        [f"{title}: {hop}", str(len(values)), *milliseconds(values)]
        for title, split in (("还是不会 → offer", to_offer), ("accept → notice", to_notice))
        for hop, values in split.items()
    ]


def database_checks(database_url: str, capacity: int) -> dict[str, float]:
    with psycopg.connect(database_url) as connection:

        def count(sql: str) -> int:
            row = connection.execute(sql).fetchone()
            return int(row[0]) if row else 0

        return {
            "double_assigned": count(
                "SELECT count(*) FROM (SELECT ticket_id FROM routing_offer WHERE status = 'accepted'"
                " GROUP BY ticket_id HAVING count(*) > 1) AS doubles"
            ),
            "questions_twice_open": count(
                "SELECT count(*) FROM (SELECT question_id FROM routing_ticket WHERE status IN"
                " ('waiting', 'offered', 'assigned') GROUP BY question_id HAVING count(*) > 1) AS twice"
            ),
            "never_assigned": count(
                "SELECT count(*) FROM questions_question AS q WHERE NOT EXISTS (SELECT FROM routing_ticket"
                " AS t WHERE t.question_id = q.id AND t.status IN ('assigned', 'finished'))"
            ),
            "above_capacity": count(f"SELECT count(*) FROM routing_duty WHERE load > {capacity}"),
            "facts": count("SELECT count(*) FROM routing_routingfact"),
            # Inside the platform: a ticket stored to its first offer stored, p50 and p99 in milliseconds.
            **dict(
                zip(
                    ("stored_p50_ms", "stored_p99_ms"),
                    connection.execute(
                        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), percentile_cont(0.99) WITHIN"
                        " GROUP (ORDER BY ms) FROM (SELECT extract(epoch FROM min(o.created_at) - t.queued_at)"
                        " * 1000 AS ms FROM routing_ticket t JOIN routing_offer o ON o.ticket_id = t.id"
                        " GROUP BY t.id) AS first_offers"
                    ).fetchone()
                    or (0, 0),
                    strict=True,
                )
            ),
        }


async def idle_sockets(platform: Platform, people: dict, count: int) -> dict[str, float]:
    """Open `count` idle question sockets on the first server; its memory per socket, and whether all live."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    base = platform.base_urls[0]
    await asyncio.sleep(SETTLE_SECONDS)
    before = platform.resident_bytes("web0")
    started = time.perf_counter()
    students = people["students"]
    sockets = await asyncio.gather(
        *(
            socket_open(
                base,
                f"/ws/questions/{students[n % len(students)]['question']}/",
                students[n % len(students)]["cookie"],
                gate,
            )
            for n in range(count)
        ),
        return_exceptions=True,
    )
    opened = [socket for socket in sockets if not isinstance(socket, BaseException)]
    open_seconds = time.perf_counter() - started
    await asyncio.sleep(SETTLE_SECONDS)
    after = platform.resident_bytes("web0")

    async def alive(socket) -> bool:
        try:
            await socket.send(json.dumps({"type": "ping"}))
            async with asyncio.timeout(30):
                async for raw in socket:
                    if json.loads(raw)["type"] == "pong":
                        return True
        except (websockets.ConnectionClosed, TimeoutError):
            return False
        return False

    answered = await asyncio.gather(*(alive(socket) for socket in opened))
    await asyncio.gather(*(socket.close() for socket in opened), return_exceptions=True)
    return {
        "asked": count,
        "opened": len(opened),
        "alive": sum(answered),
        "open_seconds": open_seconds,
        "bytes_per_socket": (after - before) / max(1, len(opened)),
        "resident_before": before,
        "resident_after": after,
    }


def report(
    record: Record,
    seconds: float,
    cpu: dict[str, float],
    checks: dict[str, int],
    stamps: dict[int, tuple[float, float | None, float | None]],
    idle: dict[str, float],
    options,
) -> None:
    to_offer = [record.offered[q] - record.stuck[q] for q in record.stuck if q in record.offered]
    to_notice = [record.noticed[q] - record.accepted[q] for q in record.noticed if q in record.accepted]
    to_answer = [record.answered[q] - record.stuck[q] for q in record.answered]
    print(
        f"\n{options.students} students, {options.teachers} teachers × {options.capacity} places, "
        f"还是不会 at {options.rate}/s, think {options.think[0]}-{options.think[1]} s, "
        f"{options.decline:.0%} declined, answers {options.answer[0]}-{options.answer[1]} s; {seconds:.1f} s\n"
    )
    table(
        ["latency (ms)", "n", "p50", "p99", "max", "target"],
        [
            ["还是不会 request answered (HTTP 200)", str(len(to_answer)), *milliseconds(to_answer), ""],
            [
                "还是不会 → offer on a teacher's socket",
                str(len(to_offer)),
                *milliseconds(to_offer),
                f"p50 < {P50_TARGET_MS}, p99 < {P99_TARGET_MS}",
            ],
            [
                "accept → student's notice",
                str(len(to_notice)),
                *milliseconds(to_notice),
                f"p50 < {P50_TARGET_MS}, p99 < {P99_TARGET_MS}",
            ],
        ],
    )
    print(
        "\nwhere the time goes (database timestamps; HTTP and the Django request until the ticket is stored, the broker"
        " and dispatch until the offer is stored, then the commit, the channel layer and daphne to the socket):\n"
    )
    table(["hop (ms)", "n", "p50", "p99", "max"], hops(record, stamps))
    offers = [record.offers[t] for t in record.offers] or [0]
    answers = [record.answers[t] for t in record.answers] or [0]
    print()
    table(
        ["per teacher", "min", "median", "max", "stdev"],
        [
            [
                "offers",
                str(min(offers)),
                f"{statistics.median(offers):.1f}",
                str(max(offers)),
                f"{statistics.pstdev(offers):.2f}",
            ],
            [
                "students answered",
                str(min(answers)),
                f"{statistics.median(answers):.1f}",
                str(max(answers)),
                f"{statistics.pstdev(answers):.2f}",
            ],
        ],
    )
    print()
    table(
        ["CPU during the load", *cpu, "all"],
        [
            ["seconds", *(f"{used:.1f}" for used in cpu.values()), f"{sum(cpu.values()):.1f}"],
            [
                "share of one core",
                *(f"{used / seconds:.0%}" for used in cpu.values()),
                f"{sum(cpu.values()) / seconds:.0%}",
            ],
            [
                "ms per question",
                *(f"{1000 * used / options.students:.1f}" for used in cpu.values()),
                f"{1000 * sum(cpu.values()) / options.students:.1f}",
            ],
        ],
    )
    print(
        f"\nin the database, a question queued → its first offer stored: p50 {checks['stored_p50_ms']:.0f} ms,"
        f" p99 {checks['stored_p99_ms']:.0f} ms"
    )
    lost = options.students - len(record.noticed)
    print(
        f"\nlost (never reached a teacher): {lost} (database: {checks['never_assigned']}); "
        f"double-assigned: {checks['double_assigned']}; question queued twice: {checks['questions_twice_open']}; "
        f"teachers above capacity: {checks['above_capacity']}; refused accepts/declines: {dict(record.refusals)}; "
        f"HTTP failures: {len(record.http_failures)} {record.http_failures[:3]}; facts recorded: {checks['facts']}"
    )
    per_socket = idle["bytes_per_socket"]
    print(
        f"\nidle student sockets on one daphne process: {idle['alive']:.0f} alive of {idle['opened']:.0f} opened "
        f"({idle['asked']:.0f} asked) in {idle['open_seconds']:.1f} s; {per_socket / 1024:.1f} KiB each "
        f"(resident {idle['resident_before'] / 2**20:.0f} → {idle['resident_after'] / 2**20:.0f} MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.routing", description=__doc__)
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--teachers", type=int, default=100)
    parser.add_argument("--capacity", type=int, default=10, help="students at once per teacher")
    parser.add_argument("--rate", type=float, default=10.0, help="还是不会 per second, all students together")
    parser.add_argument("--think", type=float, nargs=2, default=(0.2, 2.0), help="seconds before a teacher answers")
    parser.add_argument("--decline", type=float, default=0.1, help="share of offers declined")
    parser.add_argument("--answer", type=float, nargs=2, default=(5.0, 15.0), help="seconds a student is answered")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait after the last 还是不会")
    parser.add_argument("--idle-sockets", type=int, default=10_000)
    parser.add_argument("--logs", action="store_true", help="print the end of every process's log")
    options = parser.parse_args()
    # This client holds one end of every socket and the daphne processes (started from here) the other.
    _, most = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (most, most))
    with tempfile.TemporaryDirectory(prefix="xuewen-bench-routing-") as scratch:
        people_file = Path(scratch) / "people.json"
        seed = [str(options.students), str(options.teachers), str(options.capacity), str(people_file)]
        with Platform(name="routing", seed=["-m", "bench.routing.seed", *seed], servers=2) as platform:
            try:
                platform.worker_start("worker0", "default")
                platform.worker_start("worker1", "default")
                platform.beat_start()
                people = json.loads(people_file.read_text())
                record, seconds, cpu = asyncio.run(load_run(platform, people, options))
                checks = database_checks(platform.database_url, options.capacity)
                stamps = database_stamps(platform.database_url)
                idle = asyncio.run(idle_sockets(platform, people, options.idle_sockets))
            except BaseException:
                print(platform.logs(), file=sys.stderr)
                raise
            if options.logs:
                print(platform.logs(lines=100000), file=sys.stderr)
    report(record, seconds, cpu, checks, stamps, idle, options)


if __name__ == "__main__":
    main()
