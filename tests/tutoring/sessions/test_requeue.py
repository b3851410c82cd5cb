"""A recording whose render task was lost (a broker restarted empty, or unreachable when the session ended) is
queued again by the sessions' sweep, once; one rendering, rendered or failed for good is not."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import opened_session
from tests.queued import queued_tasks
from tutoring.sessions import services
from tutoring.sessions.models import Recording, TutoringSession

pytestmark = pytest.mark.django_db


def recording_of_a_session_ended(minutes_ago: int, **fields) -> Recording:
    session = opened_session()
    services.session_end(teacher=session.teacher, ticket_id=session.ticket_id)
    TutoringSession.objects.filter(pk=session.pk).update(ended_at=timezone.now() - timedelta(minutes=minutes_ago))
    Recording.objects.filter(session=session).update(**fields)
    return Recording.objects.get(session=session)


@pytest.mark.parametrize(
    ("minutes_ago", "fields", "requeued"),
    [
        (11, {}, True),  # its task was lost
        (11, {"status": "failed", "attempts": 1}, True),  # the retry of its failed attempt was lost
        (9, {}, False),  # its task may still wait in the queue
        (11, {"status": "failed", "attempts": 3}, False),  # failed every attempt
        (60, {"status": "rendering", "attempts": 1}, False),
        (60, {"status": "published", "attempts": 1}, False),
    ],
)
def test_the_sweep_queues_a_render_again_once_when_its_task_was_lost(redis_client, minutes_ago, fields, requeued):
    recording = recording_of_a_session_ended(minutes_ago, **fields)

    services.sessions_sweep()
    services.sessions_sweep()

    expected = [("tutoring.sessions.tasks.recording_render", f"({recording.pk},)")] if requeued else []
    assert queued_tasks(redis_client, "media") == expected


def test_a_render_that_failed_every_attempt_is_not_run_again():
    recording = recording_of_a_session_ended(60, status="failed", attempts=3, error="broken")

    services.recording_render(recording_id=recording.pk)

    assert Recording.objects.values_list("status", "attempts", "error").get() == ("failed", 3, "broken")
