"""Slides and recordings whose render task was lost (a broker restarted empty, or unreachable when they were
queued) are queued again by the lectures' sweep, once; what renders, rendered or failed for good is not."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.factories import LectureFactory, PublishedRecordingFactory, lecture_given
from tests.queued import queued_tasks
from tests.samples import slides_pdf
from tutoring.lectures import services
from tutoring.lectures.models import Lecture, LectureRecording, LectureSlideDeck

pytestmark = pytest.mark.django_db


def ago(minutes: int):
    return timezone.now() - timedelta(minutes=minutes)


def recording_of_a_lecture_ended(minutes_ago: int, **fields) -> LectureRecording:
    lecture = lecture_given()
    Lecture.objects.filter(pk=lecture.pk).update(ended_at=ago(minutes_ago))
    LectureRecording.objects.filter(lecture=lecture).update(**fields)
    return LectureRecording.objects.get(lecture=lecture)


def slides_uploaded(minutes_ago: int) -> LectureSlideDeck:
    lecture = LectureFactory()
    deck = services.lecture_slides_upload(
        lecture=lecture, user=lecture.lecturer, files=[SimpleUploadedFile("slides.pdf", slides_pdf(2))]
    )
    LectureSlideDeck.objects.filter(pk=deck.pk).update(uploaded_at=ago(minutes_ago))
    return deck


def test_the_sweep_queues_renders_again_once_when_their_task_was_lost(redis_client):
    lost = recording_of_a_lecture_ended(11)
    retry_lost = recording_of_a_lecture_ended(30, status="failed", attempts=2)
    recording_of_a_lecture_ended(9)  # its task may still wait in the queue
    recording_of_a_lecture_ended(30, status="failed", attempts=3)  # failed every attempt
    PublishedRecordingFactory()
    deck = slides_uploaded(11)
    slides_uploaded(9)

    first, again = services.lectures_stalled_requeue(), services.lectures_stalled_requeue()

    assert (first, again) == ({"slides": 1, "recordings": 2}, {"slides": 0, "recordings": 0})
    assert queued_tasks(redis_client, "media") == [
        ("tutoring.lectures.tasks.lecture_slides_render", f"({deck.pk},)"),
        ("tutoring.lectures.tasks.lecture_recording_render", f"({retry_lost.pk},)"),
        ("tutoring.lectures.tasks.lecture_recording_render", f"({lost.pk},)"),
    ]


def test_a_render_that_failed_every_attempt_is_not_run_again():
    recording = recording_of_a_lecture_ended(60, status="failed", attempts=3, error="broken")

    services.lecture_recording_render(recording_id=recording.pk)

    assert LectureRecording.objects.values_list("status", "attempts", "error").get() == ("failed", 3, "broken")


def test_slides_rendered_already_are_not_rendered_again(media_root):
    deck = slides_uploaded(11)
    services.lecture_slides_render(deck_id=deck.pk)
    rendered = list(deck.lecture.slides.values_list("pk", "image"))

    services.lecture_slides_render(deck_id=deck.pk)  # the lost task's copy, run after all

    assert LectureSlideDeck.objects.values_list("status", "uploads").get() == ("ready", [])
    assert list(deck.lecture.slides.values_list("pk", "image")) == rendered


def test_a_lecture_ended_while_the_broker_is_down_is_ended_with_its_recording_waiting(
    broker_down, redis_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        lecture = lecture_given()

    assert Lecture.objects.values_list("status", flat=True).get(pk=lecture.pk) == "ended"
    assert LectureRecording.objects.values_list("lecture_id", "status", "attempts").get() == (lecture.pk, "pending", 0)
    assert redis_client.llen("media") == 0
