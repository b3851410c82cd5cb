"""Session events, sent after commit: to the room, and to the teacher's console and the student's question
page when a room opens."""

from typing import Any

from django.urls import reverse

from tutoring.core.events import send_event_on_commit, send_events_on_commit
from tutoring.questions.events import question_group
from tutoring.routing.events import user_group
from tutoring.sessions.models import TutoringSession


def session_group(session_id: int) -> str:
    return f"session.{session_id}"


def session_opened_event_send(session: TutoringSession) -> None:
    event = {
        "type": "session.opened",
        "session_id": session.pk,
        "ticket_id": session.ticket_id,
        "url": reverse("frontend:session", kwargs={"session_id": session.pk}),
    }
    send_events_on_commit([(user_group(session.teacher_id), event), (question_group(session.question_id), event)])


def session_sockets_event_send(session_id: int, channels: list[str]) -> None:
    """The room's open sockets, to each of them: board and chat events and voice go from the sender's socket
    straight to the others (one channel-layer message per receiver, none back to the sender), not through
    the group."""
    send_event_on_commit(session_group(session_id), {"type": "session.sockets", "channels": channels})


def session_presence_event_send(session_id: int, presence: dict[str, bool]) -> None:
    send_event_on_commit(session_group(session_id), {"type": "session.presence", "presence": presence})


def session_ended_event_send(session_id: int, state: dict[str, Any]) -> None:
    send_event_on_commit(session_group(session_id), {"type": "session.ended", "session": state})


def recording_event_send(session_id: int, recording: dict[str, Any]) -> None:
    send_event_on_commit(session_group(session_id), {"type": "session.recording", "recording": recording})
