"""A student's side of intake over HTTP and the question's websocket, as the phone client does it."""

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.typing import Origin

SETTLED = ("understood", "failed")
TEXT_TIMEOUT_SECONDS = 120


class IntakeError(RuntimeError):
    pass


@dataclass(frozen=True)
class Submission:
    question_id: int
    idempotency_key: str
    status_code: int
    seconds: float


class Student:
    """One logged-in student with a keep-alive connection to the web tier."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.AsyncClient(base_url=base_url, timeout=60, headers={"Origin": base_url})

    async def login(self, username: str, password: str) -> None:
        await self.http.get("/login/")
        response = await self.http.post(
            "/login/",
            data={"csrfmiddlewaretoken": self.http.cookies["csrftoken"], "username": username, "password": password},
            headers={"Referer": f"{self.base_url}/login/"},
        )
        if response.status_code != 302 or "sessionid" not in self.http.cookies:
            raise IntakeError(f"Login of {username} failed: HTTP {response.status_code}")

    async def submit(self, photo: bytes, *, grade: int) -> Submission:
        """POST one photo question; the time runs from sending the request to its response."""
        key = uuid.uuid4().hex
        started = time.perf_counter()
        response = await self.http.post(
            "/api/v1/questions",
            data={"subject": "math", "grade": str(grade), "idempotency_key": key},
            files={"photos": ("photo.jpg", photo, "image/jpeg")},
            headers={"X-CSRFToken": self.http.cookies["csrftoken"]},
        )
        seconds = time.perf_counter() - started
        question_id = response.json()["id"] if response.status_code == 202 else 0
        return Submission(question_id, key, response.status_code, seconds)

    async def settled_question(self, question_id: int) -> dict[str, Any]:
        """The question as the first websocket event with a settled status shows it."""
        url = f"{self.base_url.replace('http', 'ws', 1)}/ws/questions/{question_id}/"
        async with connect(
            url,
            origin=Origin(self.base_url),
            additional_headers={"Cookie": f"sessionid={self.http.cookies['sessionid']}"},
            open_timeout=TEXT_TIMEOUT_SECONDS,
        ) as websocket:
            async for message in websocket:
                event = json.loads(message)
                if event["type"] == "question.status" and event["question"]["status"] in SETTLED:
                    return event["question"]
        raise IntakeError(f"The websocket of question {question_id} closed before its text was shown")

    async def close(self) -> None:
        await self.http.aclose()
