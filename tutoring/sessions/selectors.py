"""Reads of sessions: who may enter a room and as what, the state a client starts from, the log."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.utils import timezone

from tutoring.accounts.models import User
from tutoring.questions.selectors import question_visible_queryset
from tutoring.sessions.models import Role, SessionConnection, SessionEvent, TutoringSession


def _may_observe(user: User) -> bool:
    return user.is_superuser or user.role == User.Role.ADMINISTRATOR or user.is_research_staff


def session_role(session: TutoringSession, user: User) -> str:
    return session.role_of(user.pk) or Role.OBSERVER


def access_session(user: User | AnonymousUser, session_id: int) -> TutoringSession:
    """The session if ``user`` is its teacher or student, or staff who may see its question (silent
    observers); 404 otherwise."""
    session = (
        TutoringSession.objects.select_related("question__subject", "teacher", "student").filter(pk=session_id).first()
    )
    if session is None or not user.is_authenticated or not user.is_active:
        raise Http404
    if session.role_of(user.pk) is None and not (
        _may_observe(user) and question_visible_queryset(user).filter(pk=session.question_id).exists()
    ):
        raise Http404
    return session


def session_presence(session_id: int) -> dict[str, bool]:
    """Which sides have a live socket in the room."""
    seen_after = timezone.now() - timedelta(seconds=settings.XUEWEN["SESSION_SILENT_SECONDS"])
    roles = set(
        SessionConnection.objects.filter(session_id=session_id, left_at__isnull=True, seen_at__gte=seen_after)
        .values_list("role", flat=True)
        .distinct()
    )
    return {"teacher": Role.TEACHER in roles, "student": Role.STUDENT in roles}


def session_events(session_id: int, *, after: int = 0) -> list[dict[str, Any]]:
    return [event.as_event() for event in SessionEvent.objects.filter(session_id=session_id, seq__gt=after)]


def ms_since_start(started_at: datetime, now: datetime) -> int:
    """A moment of the session, in ms since it started (its events' ``at``)."""
    return max(0, round((now - started_at).total_seconds() * 1000))


def replay_duration_ms(started_at: datetime, ended_at: datetime | None, log: list[dict[str, Any]]) -> int:
    """How long a recorded board lasted (so far): at least 1 s, and never shorter than its log."""
    return max(ms_since_start(started_at, ended_at or timezone.now()), *(event["at"] for event in log), 1000)


def session_replay(session: TutoringSession) -> dict[str, Any]:
    """The whole log and how long the session lasted: what the video is rendered from and the page's exact
    replay plays."""
    log = session_events(session.pk)
    return {"duration_ms": replay_duration_ms(session.started_at, session.ended_at, log), "events": log}


def session_sockets(session_id: int) -> list[str]:
    """The channel names of the room's open sockets."""
    return list(
        SessionConnection.objects.filter(session_id=session_id, left_at__isnull=True).values_list(
            "channel_name", flat=True
        )
    )


def session_library_question(session: TutoringSession) -> dict[str, Any]:
    """The question as the recording's library entry has it: the teacher's corrections, else as asked."""
    question = session.question
    return {
        "text": session.library_text or question.text,
        "subject": (session.library_subject or question.subject).code,
        "grade": session.library_grade or question.grade,
        "knowledge_points": session.knowledge_points,
    }
