"""Persistence first: every web server, worker and beat is killed while questions keep coming; after the
restart teachers reconnect and every question is answered exactly once, none lost."""

import asyncio
import threading
import time
from pathlib import Path

import pytest
import websockets
from django.db import close_old_connections, transaction
from django.db.models import Count

from tests.factories import QuestionFactory, ShiftFactory
from tests.live import LiveStack, assert_each_answered_once, duty_console, live_processes, tickets_finished
from tests.sockets import session_cookie
from tutoring.questions.models import Question
from tutoring.routing.models import Ticket
from tutoring.routing.services import ticket_enqueue

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

TEACHERS = 6
CAPACITY = 2
QUESTIONS = 36
ARRIVALS_PER_SECOND = 6
KILL_AFTER = 12  # questions asked before every process dies
DOWN_SECONDS = 2
TIMEOUT = 90


def questions_arrive(tickets: list[int], killed: threading.Event) -> None:
    """Students say 还是不会 at a steady rate, before, during and after the outage (the test process keeps
    writing to the database while the platform is down, as the web servers' queued requests would)."""
    try:
        for _ in range(QUESTIONS):
            with transaction.atomic():
                question = QuestionFactory(status=Question.Status.WAITING_TEACHER, text="3加5等于几？")
                tickets.append(ticket_enqueue(question=question).pk)
            time.sleep(1 / ARRIVALS_PER_SECOND)
            if len(tickets) == KILL_AFTER:
                killed.wait(TIMEOUT)
    finally:
        close_old_connections()


async def teacher(urls: list[str], cookie: str, stop: asyncio.Event, reconnects: list[int]) -> None:
    """A teacher's duty console that reconnects (to any server) whenever the socket drops."""
    attempt = 0
    while not stop.is_set():
        url = urls[attempt % len(urls)]
        attempt += 1
        try:
            async with websockets.connect(
                url.replace("http", "ws") + "/ws/duty/", additional_headers={"Cookie": cookie, "Origin": url}
            ) as socket:
                reconnects.append(attempt)
                await duty_console(socket, stop)
        except (OSError, websockets.ConnectionClosed):
            await asyncio.sleep(0.2)


async def run(stack: LiveStack, cookies: list[str]) -> dict[str, int]:
    stop = asyncio.Event()
    reconnects: list[int] = []
    consoles = [asyncio.create_task(teacher(stack.urls, cookie, stop, reconnects)) for cookie in cookies]
    tickets: list[int] = []
    killed = threading.Event()
    arrivals = asyncio.create_task(asyncio.to_thread(questions_arrive, tickets, killed))
    try:
        async with asyncio.timeout(TIMEOUT):
            while len(tickets) < KILL_AFTER:
                await asyncio.sleep(0.05)
            before = await asyncio.to_thread(tickets_finished)
            await asyncio.to_thread(stack.kill)
            killed.set()
            connected_before = len(reconnects)
            await asyncio.sleep(DOWN_SECONDS)
            await asyncio.to_thread(stack.start)
            await arrivals
            while await asyncio.to_thread(tickets_finished) < QUESTIONS:
                await asyncio.sleep(0.2)
        return {"finished_before_kill": before, "reconnects": len(reconnects) - connected_before}
    finally:
        stop.set()
        await asyncio.gather(*consoles, return_exceptions=True)


def test_killing_every_process_mid_load_loses_nothing_and_dispatch_resumes(media_root: Path, tmp_path: Path):
    teachers = [ShiftFactory(capacity=CAPACITY).teacher for _ in range(TEACHERS)]
    cookies = [session_cookie(teacher) for teacher in teachers]

    with live_processes(media_root, tmp_path, servers=2, workers=2, beat=True) as stack, stack.logs_on_failure():
        try:
            figures = asyncio.run(run(stack, cookies))
        except TimeoutError:
            statuses = dict(Ticket.objects.values_list("status").annotate(n=Count("id")))
            raise AssertionError(f"not all answered in {TIMEOUT} s: {statuses}") from None

        assert 0 < figures["finished_before_kill"] < QUESTIONS  # killed mid-load
        assert figures["reconnects"] >= TEACHERS  # every console came back
        assert_each_answered_once(QUESTIONS)
