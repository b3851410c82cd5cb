"""Inbound session messages, checked before anything is stored: board protocol v1 (see ``media.board``) and
chat. A message is a JSON object with ``"v": 1``, a ``type`` and its payload; ``ref`` is an optional client
reference echoed back with the stored event. Who may send what is decided here too."""

import re
from typing import Any

from media.board import BOARD_HEIGHT, BOARD_WIDTH, PAGES, TOOLS
from tutoring.sessions.models import Role

VERSION = 1
MAX_POINTS = 500
MAX_STROKE_MS = 10 * 60 * 1000
MAX_CHAT_CHARS = 1000
TEACHER_ONLY = frozenset({"board.page", "board.background", "board.laser", "board.permission"})
DRAWING = frozenset({"board.stroke", "board.undo", "board.redo", "board.clear"})
TYPES = TEACHER_ONLY | DRAWING | {"chat.message"}
# Ids are made by clients; the first letter says whose they are, so a student can never extend, undo or
# redo the teacher's strokes (a teacher may undo anyone's).
ID_PREFIX: dict[str, str] = {Role.TEACHER: "t", Role.STUDENT: "s"}
_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


class ProtocolError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _integer(value: Any, low: int, high: int, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ProtocolError("invalid_message", f"'{name}' must be an integer from {low} to {high}.")
    return value


def _boolean(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ProtocolError("invalid_message", f"'{name}' must be true or false.")
    return value


def _identifier(value: Any, name: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ProtocolError("invalid_message", f"'{name}' must be 1-40 letters, digits, '-' or '_'.")
    return value


def _own_identifier(value: Any, name: str, role: str) -> str:
    identifier = _identifier(value, name)
    if not identifier.startswith(ID_PREFIX[role]):
        raise ProtocolError("not_allowed", f"Your ids start with '{ID_PREFIX[role]}'.")
    return identifier


def _points(value: Any) -> list[list[int]]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_POINTS:
        raise ProtocolError("invalid_message", f"'points' must be a list of 1 to {MAX_POINTS} points.")
    previous = 0
    for point in value:
        if not isinstance(point, list) or len(point) != 3:
            raise ProtocolError("invalid_message", "A point is [x, y, dt].")
        _integer(point[0], 0, BOARD_WIDTH, "x")
        _integer(point[1], 0, BOARD_HEIGHT, "y")
        previous = _integer(point[2], previous, MAX_STROKE_MS, "dt")  # non-decreasing
    return value


def _stroke(content: dict[str, Any], role: str) -> dict[str, Any]:
    if content.get("tool") not in TOOLS:
        raise ProtocolError("invalid_message", "'tool' must be pen, highlighter or eraser.")
    color = content.get("color")
    if not isinstance(color, str) or not _COLOR.fullmatch(color):
        raise ProtocolError("invalid_message", "'color' must be #rrggbb.")
    return {
        "stroke": _own_identifier(content.get("stroke"), "stroke", role),
        "page": _integer(content.get("page"), 0, PAGES - 1, "page"),
        "tool": content["tool"],
        "color": color,
        "width": _integer(content.get("width"), 1, 80, "width"),
        "points": _points(content.get("points")),
        "end": _boolean(content.get("end"), "end"),
    }


def _undo(content: dict[str, Any], role: str) -> dict[str, Any]:
    target = content.get("target")
    own = _identifier(target, "target") if role == Role.TEACHER else _own_identifier(target, "target", role)
    return {"target": own}


def _clear(content: dict[str, Any], role: str) -> dict[str, Any]:
    return {
        "id": _own_identifier(content.get("id"), "id", role),
        "page": _integer(content.get("page"), 0, PAGES - 1, "page"),
    }


def _page(content: dict[str, Any], role: str) -> dict[str, Any]:
    return {"page": _integer(content.get("page"), 0, PAGES - 1, "page")}


def _background(content: dict[str, Any], role: str) -> dict[str, Any]:
    attachment = content.get("attachment")
    if attachment is not None:
        _integer(attachment, 1, 2**63 - 1, "attachment")
    return {
        "page": _integer(content.get("page"), 0, PAGES - 1, "page"),
        "attachment": attachment,
        "x": _integer(content.get("x"), -BOARD_WIDTH, 2 * BOARD_WIDTH, "x"),
        "y": _integer(content.get("y"), -BOARD_HEIGHT, 2 * BOARD_HEIGHT, "y"),
        "width": _integer(content.get("width"), 50, 3 * BOARD_WIDTH, "width"),
    }


def _laser(content: dict[str, Any], role: str) -> dict[str, Any]:
    return {"x": _integer(content.get("x"), 0, BOARD_WIDTH, "x"), "y": _integer(content.get("y"), 0, BOARD_HEIGHT, "y")}


def _permission(content: dict[str, Any], role: str) -> dict[str, Any]:
    return {
        "student_draw": _boolean(content.get("student_draw"), "student_draw"),
        "student_speak": _boolean(content.get("student_speak"), "student_speak"),
    }


def _chat(content: dict[str, Any], role: str) -> dict[str, Any]:
    text, attachment = content.get("text", ""), content.get("attachment")
    if not isinstance(text, str) or len(text) > MAX_CHAT_CHARS:
        raise ProtocolError("invalid_message", f"'text' must be text of at most {MAX_CHAT_CHARS} characters.")
    if attachment is not None:
        return {"text": text.strip(), "attachment": _integer(attachment, 1, 2**63 - 1, "attachment")}
    if not text.strip():
        raise ProtocolError("invalid_message", "A chat message needs text or an attachment.")
    return {"text": text.strip()}


_PAYLOADS = {
    "board.stroke": _stroke,
    "board.undo": _undo,
    "board.redo": _undo,
    "board.clear": _clear,
    "board.page": _page,
    "board.background": _background,
    "board.laser": _laser,
    "board.permission": _permission,
    "chat.message": _chat,
}


def message_check(content: dict[str, Any], *, role: str) -> tuple[str, dict[str, Any]]:
    """The type and the payload to store, or ProtocolError (the sender is told; nothing is stored). Whether
    the student may draw now is decided where the message is stored, atomically with the room's state."""
    kind = content.get("type")
    if kind not in TYPES:
        raise ProtocolError("unknown_type", f"Unknown message type: {str(kind)[:64]}")
    if content.get("v") != VERSION:
        raise ProtocolError("unsupported_version", f'Session messages need "v": {VERSION}.')
    if role == Role.OBSERVER:
        raise ProtocolError("not_allowed", "Observers only watch.")
    if role != Role.TEACHER and kind in TEACHER_ONLY:
        raise ProtocolError("not_allowed", "Only the teacher may do this.")
    data = _PAYLOADS[kind](content, role)
    ref = content.get("ref")
    if ref is not None:
        data["ref"] = _identifier(ref, "ref")
    return kind, data
