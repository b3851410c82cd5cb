"""Websocket clients for consumer tests: the real ASGI application, signed in by a real session."""

import json

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from config.asgi import application


def session_cookie(user) -> str:
    """A Cookie header value for a real, signed-in session of ``user``."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


async def socket(path: str, user=None, origin: bytes = b"http://testserver") -> WebsocketCommunicator:
    headers = [(b"origin", origin)]
    if user is not None:
        headers.append((b"cookie", (await sync_to_async(session_cookie)(user)).encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def communicator(question_id: int, user=None, origin: bytes = b"http://testserver") -> WebsocketCommunicator:
    return await socket(f"/ws/questions/{question_id}/", user, origin)


async def next_of(ws: WebsocketCommunicator, kind: str) -> dict:
    """The next JSON message of type ``kind`` (others, and binary frames, are passed over)."""
    while True:
        output = await ws.receive_output(timeout=5)
        assert output["type"] == "websocket.send", output  # not closed
        if output.get("text") is not None and (event := json.loads(output["text"]))["type"] == kind:
            return event


async def refused_code(path: str, user=None) -> int:
    """The close code of a socket the server refuses."""
    ws = await socket(path, user)
    await ws.connect()
    closed = await ws.receive_output(timeout=5)
    await ws.disconnect()
    return closed["code"]
