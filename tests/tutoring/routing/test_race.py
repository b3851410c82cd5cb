"""Exactly once, across processes: two daphne servers and two Celery workers on Redis and PostgreSQL, and
many teachers accepting the same open offers (抢答) at the same moment over real websockets."""

import asyncio
import json
import random
from pathlib import Path

import pytest
import websockets
from django.db import transaction
from django.db.models import Max, Sum

from tests.factories import QuestionFactory, ShiftFactory
from tests.live import live_processes
from tests.sockets import session_cookie
from tutoring.questions.models import Question
from tutoring.routing.models import Duty, Offer, RoutingFact, Ticket
from tutoring.routing.services import ticket_enqueue
from tutoring.schools.models import Subject

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

TEACHERS = 12
QUESTIONS = 6
TIMEOUT = 30


def questions_enqueue() -> None:
    for _ in range(QUESTIONS):
        with transaction.atomic():
            ticket_enqueue(question=QuestionFactory(status=Question.Status.WAITING_TEACHER, text="3加5等于几？"))


async def events_until(socket, wanted, done) -> list[dict]:
    """Read events of the `wanted` types until `done(events)` says enough."""
    events: list[dict] = []
    async with asyncio.timeout(TIMEOUT):
        while not done(events):
            event = json.loads(await socket.recv())
            if event["type"] in wanted:
                events.append(event)
    return events


async def race(urls: list[str], cookies: list[str]) -> list[list[dict]]:
    sockets = []
    for number, cookie in enumerate(cookies):
        url = urls[number % len(urls)]  # teachers spread over both servers
        socket = await websockets.connect(
            url.replace("http", "ws") + "/ws/duty/", additional_headers={"Cookie": cookie, "Origin": url}
        )
        sockets.append(socket)
        await socket.send(json.dumps({"type": "duty.available", "available": True}))
    try:
        on_duty = lambda events: any(e["duty"]["on_duty"] for e in events)  # noqa: E731
        await asyncio.gather(*(events_until(s, {"duty.state"}, on_duty) for s in sockets))
        await asyncio.to_thread(questions_enqueue)
        offers = await asyncio.gather(
            *(events_until(s, {"offer.created"}, lambda events: len(events) == QUESTIONS) for s in sockets)
        )

        async def accept_all(socket, offered) -> list[dict]:
            ids = [event["offer"]["id"] for event in offered]
            random.shuffle(ids)
            for offer_id in ids:
                await socket.send(json.dumps({"type": "offer.accept", "offer_id": offer_id}))
            # Every accept is answered: the ticket, or an error naming the offer.
            return await events_until(socket, {"ticket.assigned", "error"}, lambda events: len(events) == len(ids))

        return await asyncio.gather(*(accept_all(s, o) for s, o in zip(sockets, offers, strict=True)))
    finally:
        for socket in sockets:
            await socket.close()


def test_concurrent_accepts_across_processes_assign_each_question_exactly_once(media_root: Path, tmp_path: Path):
    Subject.objects.filter(code="math").update(routing_policy=Subject.RoutingPolicy.OPEN)
    teachers = [ShiftFactory(capacity=1).teacher for _ in range(TEACHERS)]
    cookies = [session_cookie(teacher) for teacher in teachers]

    environment = {"XUEWEN_OPEN_OFFERS_SHOWN": "10"}
    with live_processes(media_root, tmp_path, servers=2, workers=2, env=environment) as stack:
        try:
            replies = asyncio.run(race(stack.urls, cookies))
        except Exception as error:
            raise AssertionError(f"{error!r}\n{stack.logs()}") from None

    assigned = [event for teacher in replies for event in teacher if event["type"] == "ticket.assigned"]
    refused = [event["code"] for teacher in replies for event in teacher if event["type"] == "error"]
    tickets = list(Ticket.objects.values_list("status", "teacher_id"))
    assert len(assigned) == QUESTIONS
    assert len({event["ticket"]["id"] for event in assigned}) == QUESTIONS
    assert set(refused) <= {"offer_closed", "at_capacity"}
    assert len(refused) == TEACHERS * QUESTIONS - QUESTIONS
    assert [status for status, _ in tickets] == ["assigned"] * QUESTIONS
    assert len({teacher for _, teacher in tickets}) == QUESTIONS  # capacity 1: six different teachers
    assert Offer.objects.filter(status="accepted").count() == QUESTIONS
    assert Offer.objects.count() == TEACHERS * QUESTIONS  # never offered twice to anyone
    assert Duty.objects.aggregate(total=Sum("load"), most=Max("load")) == {"total": QUESTIONS, "most": 1}
    assert RoutingFact.objects.filter(kind="accepted").count() == QUESTIONS
