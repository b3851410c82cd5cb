"""The embedded defaults (`make demo`): SQLite, the in-memory channel layer and eager tasks, in a real daphne.

The rest of the suite runs on PostgreSQL; this test starts its own server on a SQLite file of its own."""

import asyncio
import json
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.embedded import embedded_environment
from tests.live import REPOSITORY, web_server
from tutoring.routing.models import DutyConnection
from tutoring.sessions.models import SessionConnection

# Migrated and given a session room opened the real way (a teacher on duty accepted a waiting question, then
# closed that console), and more questions of its student; prints who and what, as JSON.
SETUP = """
import json
from django.core.management import call_command
call_command("migrate", verbosity=0)
from tests.factories import PASSWORD, QuestionFactory, opened_session
from tutoring.routing.services import duty_disconnect
session = opened_session()
duty_disconnect(channel_name=f"console-{session.teacher_id}")  # the console the teacher accepted on
questions = QuestionFactory.create_batch(4, student=session.student)
print(json.dumps({"password": PASSWORD, "teacher": session.teacher.username, "student": session.student.username,
                  "session": session.pk, "questions": [session.question_id, *(q.pk for q in questions)]}))
"""
SOCKETS_PER_KIND = 10  # 40 sockets: the student's question pages, the duty console, both sides of the room
SETTLE_SECONDS = 15


def signed_in(url: str, username: str, password: str) -> str:
    """The Cookie header of a session signed in through the login form."""
    with httpx.Client(base_url=url) as client:
        form = client.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token is not None
        answer = client.post(
            "/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)},
            headers={"Referer": f"{url}/login/"},
        )
        assert (answer.status_code, answer.headers["location"]) == (302, "/")
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


async def socket_open(url: str, path: str, cookie: str) -> ClientConnection:
    """A websocket that the server accepted and sent its first message (the current state) on."""
    socket = await connect(f"ws{url.removeprefix('http')}{path}", origin=url, additional_headers={"Cookie": cookie})
    await asyncio.wait_for(socket.recv(), timeout=20)
    return socket


async def sockets_open_and_close(url: str, opened: list[tuple[str, str]]) -> list[str]:
    """Open every socket at once, then close them all at the same instant; what each opening came to."""
    results = await asyncio.gather(*(socket_open(url, path, cookie) for path, cookie in opened), return_exceptions=True)
    sockets = [result for result in results if isinstance(result, ClientConnection)]
    await asyncio.gather(*(socket.close() for socket in sockets))
    return ["open" if isinstance(result, ClientConnection) else repr(result) for result in results]


def still_open(database: Path) -> tuple[int, int]:
    """Room sockets not yet recorded as left, and duty consoles not yet recorded as closed."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=20) as connection:
        rooms = f"SELECT count(*) FROM {SessionConnection._meta.db_table} WHERE left_at IS NULL"
        consoles = f"SELECT count(*) FROM {DutyConnection._meta.db_table} WHERE closed_at IS NULL"
        return connection.execute(rooms).fetchone()[0], connection.execute(consoles).fetchone()[0]


def test_the_embedded_defaults_survive_many_sockets_closing_together(tmp_path: Path) -> None:
    environment = embedded_environment(tmp_path)
    setup = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SETUP],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    given = json.loads(setup.stdout.strip().splitlines()[-1])
    log = tmp_path / "daphne.log"
    with web_server(environment, log) as url:
        student, teacher = (signed_in(url, given[role], given["password"]) for role in ("student", "teacher"))
        room = f"/ws/sessions/{given['session']}/"
        opened = [
            *((f"/ws/questions/{given['questions'][n % 5]}/", student) for n in range(SOCKETS_PER_KIND)),
            *(("/ws/duty/", teacher) for _ in range(SOCKETS_PER_KIND)),
            *((room, teacher) for _ in range(SOCKETS_PER_KIND)),
            *((room, student) for _ in range(SOCKETS_PER_KIND)),
        ]

        closed = asyncio.run(sockets_open_and_close(url, opened))

        deadline = time.monotonic() + SETTLE_SECONDS
        while still_open(tmp_path / "xuewen.sqlite3") != (0, 0) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = still_open(tmp_path / "xuewen.sqlite3")
        home = httpx.get(f"{url}/", headers={"Cookie": student})
        again = asyncio.run(sockets_open_and_close(url, [(room, student)]))
        printed = log.read_text(errors="replace")  # while it runs: stopping is not what this test is about
    assert (closed, left, home.status_code, again) == (["open"] * 4 * SOCKETS_PER_KIND, (0, 0), 200, ["open"]), printed
    assert "database is locked" not in printed
    assert "Traceback" not in printed, printed
