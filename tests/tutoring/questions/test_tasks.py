import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.files.uploadedfile import SimpleUploadedFile

from config.celery import app
from tests.factories import StudentFactory
from tests.samples import QUESTION_TEXT, question_photo
from tutoring.questions.models import Question
from tutoring.questions.services import question_create, questions_stalled_requeue

# A real worker thread takes tasks from the real Redis broker and writes through its own connection.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def wait_for_status(question_id: int, statuses: set[str], timeout: float = 60.0) -> Question:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        question = Question.objects.get(pk=question_id)
        if question.status in statuses:
            return question
        time.sleep(0.1)
    raise AssertionError(f"question {question_id} stayed {question.status}")


def test_a_media_worker_understands_a_queued_photo_question():
    with start_worker(app, queues=["media"], pool="solo", perform_ping_check=False, shutdown_timeout=30):
        question, _ = question_create(
            student=StudentFactory(),
            subject="math",
            grade=3,
            idempotency_key=uuid.uuid4().hex,
            photos=[SimpleUploadedFile("q.jpg", question_photo())],
        )
        done = wait_for_status(question.pk, {Question.Status.UNDERSTOOD, Question.Status.FAILED})

    assert (done.status, done.text.replace(" ", ""), done.text_source) == (
        Question.Status.UNDERSTOOD,
        QUESTION_TEXT,
        Question.TextSource.OCR,
    )


def test_a_question_whose_task_was_lost_is_queued_again(redis_client):
    question, _ = question_create(
        student=StudentFactory(), subject="math", grade=3, idempotency_key=uuid.uuid4().hex, text="3加5等于几？"
    )
    redis_client.delete("media")  # the broker lost the message (Redis restarted without persistence)
    Question.objects.filter(pk=question.pk).update(created_at=question.created_at.replace(year=2020))

    requeued = questions_stalled_requeue()

    assert requeued == 1
    with start_worker(app, queues=["media"], pool="solo", perform_ping_check=False, shutdown_timeout=30):
        done = wait_for_status(question.pk, {Question.Status.UNDERSTOOD, Question.Status.FAILED})
    assert (done.status, done.text) == (Question.Status.UNDERSTOOD, "3加5等于几？")
