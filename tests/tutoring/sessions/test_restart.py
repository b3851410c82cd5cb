"""Nothing drawn is lost when the web process dies under a session: the log is in the database, and each
client reconnects asking for the events after the last one it has."""

import asyncio
import json
from pathlib import Path

import pytest
import websockets

from tests.factories import opened_session
from tests.live import live_processes
from tests.samples import STROKE
from tests.sockets import session_cookie
from tutoring.sessions.models import SessionEvent

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


async def room(url: str, session_id: int, cookie: str, after: int = 0):
    socket = await websockets.connect(
        f"{url.replace('http', 'ws')}/ws/sessions/{session_id}/?after={after}",
        additional_headers={"Cookie": cookie, "Origin": url},
    )
    snapshot = json.loads(await socket.recv())
    assert snapshot["type"] == "session.snapshot"
    return socket, snapshot


async def strokes(socket, count: int) -> list[dict]:
    seen: list[dict] = []
    async with asyncio.timeout(10):
        while len(seen) < count:
            event = json.loads(await socket.recv())
            if event["type"] == "board.stroke":
                seen.append(event)
    return seen


def test_a_web_process_killed_mid_session_loses_no_stroke(media_root: Path, tmp_path: Path):
    session = opened_session()
    teacher_cookie, student_cookie = session_cookie(session.teacher), session_cookie(session.student)

    async def run(stack) -> tuple[list[dict], list[dict]]:
        teacher, _ = await room(stack.url, session.pk, teacher_cookie)
        student, _ = await room(stack.url, session.pk, student_cookie)
        for number in (1, 2, 3):
            await teacher.send(json.dumps({**STROKE, "stroke": f"t{number}"}))
        before = await strokes(student, 3)
        await asyncio.to_thread(stack.kill)
        await asyncio.to_thread(stack.start)
        teacher, _ = await room(stack.url, session.pk, teacher_cookie, after=3)
        await teacher.send(json.dumps({**STROKE, "stroke": "t4"}))
        await strokes(teacher, 1)
        student, resumed = await room(stack.url, session.pk, student_cookie, after=before[1]["seq"])
        await teacher.close()
        await student.close()
        return before, resumed["events"]

    with live_processes(media_root, tmp_path, servers=1, workers=0) as stack, stack.logs_on_failure():
        before, resumed = asyncio.run(run(stack))

        assert [event["stroke"] for event in before] == ["t1", "t2", "t3"]
        assert [(event["seq"], event["stroke"]) for event in resumed] == [(3, "t3"), (4, "t4")]
        assert list(SessionEvent.objects.values_list("seq", flat=True)) == [1, 2, 3, 4]
