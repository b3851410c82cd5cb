"""Lecture events, sent after commit: the schedule's changes to the students who signed up, the start and the end
to the lecture's web processes (each passes them to its own sockets, see ``broadcast``)."""

from typing import Any

from tutoring.core.events import send_event_on_commit, send_events_on_commit
from tutoring.lectures.models import Lecture
from tutoring.routing.events import user_group


def lecture_group(lecture_id: int) -> str:
    """The lecture's group: its members are web processes (one subscription each), not sockets."""
    return f"lecture.{lecture_id}"


def lecture_summary(lecture: Lecture) -> dict[str, Any]:
    return {
        "id": lecture.pk,
        "title": lecture.title,
        "status": lecture.status,
        "starts_at": lecture.starts_at.isoformat(),
        "planned_minutes": lecture.planned_minutes,
        "started_at": lecture.started_at.isoformat() if lecture.started_at else None,
        "ended_at": lecture.ended_at.isoformat() if lecture.ended_at else None,
    }


def lecture_notice_send(lecture: Lecture, student_ids: list[int], kind: str) -> None:
    """Tell the signed-up students (their open pages) that the lecture started, moved or was cancelled."""
    event = {"type": f"lecture.{kind}", "lecture": lecture_summary(lecture)}
    send_events_on_commit([(user_group(student_id), event) for student_id in student_ids])


def lecture_status_send(lecture: Lecture) -> None:
    """The lecture started or ended: to every process with sockets in it."""
    send_event_on_commit(lecture_group(lecture.pk), {"type": "lecture.status", "lecture": lecture_summary(lecture)})


def lecture_interaction_send(lecture_id: int) -> None:
    """A question was moderated or a quick check opened or closed: every process reads the new state once and
    passes it to its sockets."""
    send_event_on_commit(lecture_group(lecture_id), {"type": "lecture.interaction"})
