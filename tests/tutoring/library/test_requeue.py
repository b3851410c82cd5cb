"""The library's work whose task was lost (a broker restarted empty, or unreachable when it was queued) is queued
again by the sweep, once; work done or still fresh is not, and a task run again for work done changes nothing."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.factories import KnowledgePointFactory, QuestionFactory, VideoAnswerFactory
from tests.queued import queued_tasks
from tests.samples import video_clip
from tutoring.library import services
from tutoring.library.models import Answer, Entry, Match
from tutoring.library.services import entry_save, library_stalled_requeue, question_match
from tutoring.questions.models import Question

pytestmark = pytest.mark.django_db

APPLES = "小明有12个苹果，吃了5个，还剩几个？"
NOTHING = {"matches": 0, "tags": 0, "videos": 0}


def ago(**elapsed: float):
    return timezone.now() - timedelta(**elapsed)


def test_a_question_understood_but_never_matched_is_matched_again_after_two_minutes(redis_client):
    lost = QuestionFactory(status=Question.Status.UNDERSTOOD, text=APPLES, understood_at=ago(minutes=3))
    QuestionFactory(status=Question.Status.UNDERSTOOD, text=APPLES, understood_at=ago(minutes=1))  # still queued
    QuestionFactory(
        status=Question.Status.UNDERSTOOD, text=APPLES, understood_at=ago(minutes=30), match_outcome="similar"
    )
    QuestionFactory(
        status=Question.Status.WAITING_TEACHER, text=APPLES, understood_at=ago(minutes=30), match_outcome="none"
    )

    first, again = library_stalled_requeue(), library_stalled_requeue()

    assert (first, again) == (NOTHING | {"matches": 1}, NOTHING)
    assert queued_tasks(redis_client, "matching") == [("tutoring.library.tasks.question_match", f"({lost.pk},)")]


def test_a_requeued_match_of_a_question_matched_meanwhile_changes_nothing():
    entry_save(text=APPLES, subject="math", grade=3, solution="7个")
    question = QuestionFactory(status=Question.Status.UNDERSTOOD, text=APPLES)
    question_match(question_id=question.pk)
    matched = Question.objects.values_list("match_outcome", "matched_at").get(pk=question.pk)
    shown = list(Match.objects.values_list("pk", "entry_id", "label"))

    question_match(question_id=question.pk)  # the lost task's copy, run after all

    assert Question.objects.values_list("match_outcome", "matched_at").get(pk=question.pk) == matched
    assert list(Match.objects.values_list("pk", "entry_id", "label")) == shown
    assert matched[0] == "same"


def test_an_entry_the_tagger_never_saw_is_tagged_again_after_ten_minutes(redis_client):
    KnowledgePointFactory(code="kp.subtract", name="减法")
    lost, _ = entry_save(text=APPLES, subject="math", grade=3, solution="7个")
    fresh, _ = entry_save(text="3加5等于几？", subject="math", grade=3, solution="8")
    labelled, _ = entry_save(text="5减3等于几？", subject="math", grade=3, solution="2", knowledge_points=["减法"])
    seen, _ = entry_save(text="今天下雨了，我们去哪里玩？", subject="math", grade=3, solution="家里")
    assert services.entry_knowledge_points_tag(entry_id=seen.pk) is True  # the tagger found nothing to tag it with
    Entry.objects.exclude(pk=fresh.pk).update(updated_at=ago(minutes=11))

    first, again = library_stalled_requeue(), library_stalled_requeue()

    assert (first, again) == (NOTHING | {"tags": 1}, NOTHING)
    assert queued_tasks(redis_client, "matching") == [
        ("tutoring.library.tasks.entry_knowledge_points_tag", f"({lost.pk},)")
    ]
    assert (seen.knowledge_point_tags.count(), labelled.knowledge_point_tags.count()) == (0, 1)


def test_a_video_still_processing_after_two_hours_is_transcoded_again(redis_client):
    lost = VideoAnswerFactory(status=Answer.Status.PROCESSING, video="", original="library/uploads/a.webm")
    fresh = VideoAnswerFactory(status=Answer.Status.PROCESSING, video="", original="library/uploads/b.webm")
    ready = VideoAnswerFactory()
    Answer.objects.exclude(pk=fresh.pk).update(created_at=ago(hours=3))
    Answer.objects.filter(pk=fresh.pk).update(created_at=ago(hours=1))

    first, again = library_stalled_requeue(), library_stalled_requeue()

    assert (first, again) == (NOTHING | {"videos": 1}, NOTHING)
    assert queued_tasks(redis_client, "media") == [("tutoring.library.tasks.answer_video_process", f"({lost.pk},)")]
    services.answer_video_process(answer_id=ready.pk)  # a copy for a video done already
    assert Answer.objects.values_list("status", "video", "poster").get(pk=ready.pk) == (
        "ready",
        "library/videos/answer.mp4",
        "library/posters/answer.jpg",
    )


def test_an_entry_saved_while_the_broker_is_down_is_kept_with_its_video(
    broker_down, redis_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        entry, created = entry_save(
            text=APPLES, subject="math", grade=3, video=SimpleUploadedFile("a.webm", video_clip())
        )

    answer = Answer.objects.get(entry=entry)
    assert (created, entry.status, entry.tagged_at, answer.status) == (True, "active", None, "processing")
    assert default_storage.exists(answer.original.name)
    assert (redis_client.llen("media"), redis_client.llen("matching")) == (0, 0)
