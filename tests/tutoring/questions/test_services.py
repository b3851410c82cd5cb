import io
import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from tests.factories import QuestionFactory, StudentFactory
from tests.queued import queued_tasks
from tests.samples import QUESTION_TEXT, question_photo, voice_clip
from tutoring.core.errors import ServiceError
from tutoring.questions.models import Attachment, Question
from tutoring.questions.services import (
    question_create,
    question_text_correct,
    question_understand,
    questions_stalled_requeue,
)

pytestmark = pytest.mark.django_db


def key() -> str:
    return uuid.uuid4().hex


def photo_upload(data: bytes | None = None, name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, question_photo() if data is None else data, content_type="image/jpeg")


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_question_create_with_text_commits_and_queues_understanding(redis_client, django_capture_on_commit_callbacks):
    student = StudentFactory()

    with django_capture_on_commit_callbacks(execute=True):
        question, created = question_create(
            student=student, subject="math", grade=3, idempotency_key="key-00000001", text="  3加5等于几？ "
        )

    assert created is True
    question.refresh_from_db()
    assert (question.status, question.typed_text, question.subject.code, question.grade) == (
        Question.Status.RECEIVED,
        "3加5等于几？",
        "math",
        3,
    )
    queued = [json.loads(m) for m in redis_client.lrange("media", 0, -1)]
    assert [(m["headers"]["task"], m["headers"]["argsrepr"]) for m in queued] == [
        ("tutoring.questions.tasks.question_understand", f"({question.pk},)")
    ]


def test_question_create_stores_raw_uploads_before_processing(media_root):
    student = StudentFactory()
    photo = question_photo()
    voice = voice_clip()

    question, _ = question_create(
        student=student,
        subject="math",
        grade=3,
        idempotency_key=key(),
        photos=[photo_upload(photo)],
        voice=SimpleUploadedFile("voice.ogg", voice, content_type="audio/ogg"),
    )

    attachments = list(question.attachments.all())
    assert [(a.kind, a.position, a.content_type, a.size_bytes, a.status) for a in attachments] == [
        (Attachment.Kind.PHOTO, 0, "image/jpeg", len(photo), Attachment.Status.PENDING),
        (Attachment.Kind.VOICE, 1, "audio/ogg", len(voice), Attachment.Status.PENDING),
    ]
    assert default_storage.open(attachments[0].original.name).read() == photo
    assert default_storage.open(attachments[1].original.name).read() == voice
    assert len(stored_files(media_root)) == 2


def test_question_create_replayed_key_returns_first_question_and_creates_nothing(media_root):
    student = StudentFactory()
    first, created = question_create(
        student=student, subject="math", grade=3, idempotency_key="same-key-1", photos=[photo_upload()]
    )

    again, created_again = question_create(
        student=student, subject="chinese", grade=4, idempotency_key="same-key-1", text="另一个问题"
    )

    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert Question.objects.count() == 1
    assert Attachment.objects.count() == 1
    assert len(stored_files(media_root)) == 1


def test_question_create_same_key_of_another_student_is_a_new_question():
    first, _ = question_create(student=StudentFactory(), subject="math", grade=3, idempotency_key="k" * 10, text="a")
    second, created = question_create(
        student=StudentFactory(), subject="math", grade=3, idempotency_key="k" * 10, text="b"
    )

    assert created is True
    assert second.pk != first.pk


def tiny_png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, format="PNG")
    return out.getvalue()


BAD_INPUTS = [
    pytest.param({"text": ""}, "empty_question", 400, None, id="empty"),
    pytest.param({"text": "   \n "}, "empty_question", 400, None, id="blank"),
    pytest.param({"text": "长" * 2001}, "text_too_long", 400, "text", id="text-too-long"),
    pytest.param({"subject": "astrology"}, "unknown_subject", 400, "subject", id="unknown-subject"),
    pytest.param({"grade": 2, "subject": "physics"}, "unknown_grade", 400, "grade", id="subject-not-in-grade"),
    pytest.param({"grade": 13}, "unknown_grade", 400, "grade", id="grade-13"),
    pytest.param({"idempotency_key": ""}, "invalid_idempotency_key", 400, "idempotency_key", id="no-key"),
    pytest.param({"idempotency_key": "bad key!"}, "invalid_idempotency_key", 400, "idempotency_key", id="bad-key"),
    pytest.param({"photos": [b"%PDF-1.4 not an image"]}, "not_an_image", 400, "photos", id="pdf-as-photo"),
    pytest.param({"photos": [b""]}, "empty_file", 400, "photos", id="empty-photo"),
    pytest.param({"photos": ["truncated"]}, "corrupt_image", 400, "photos", id="truncated-jpeg"),
    pytest.param({"photos": ["bomb"]}, "too_many_pixels", 400, "photos", id="decompression-bomb"),
    pytest.param({"photos": ["huge"]}, "too_large", 413, "photos", id="photo-too-large"),
    pytest.param({"photos": ["ok"] * 5}, "too_many_photos", 400, "photos", id="too-many-photos"),
    pytest.param({"voice": b"just some text, not audio"}, "not_audio", 400, "voice", id="text-as-voice"),
    pytest.param({"photos": ["ok"], "voice": b"\x89PNG\r\n\x1a\n"}, "not_audio", 400, "voice", id="png-as-voice"),
]


@pytest.mark.parametrize(("overrides", "code", "status", "field"), BAD_INPUTS)
def test_question_create_bad_input_is_refused_and_writes_nothing(overrides, code, status, field, media_root, settings):
    settings.XUEWEN = {**settings.XUEWEN, "MAX_PHOTO_BYTES": 200_000}
    student = StudentFactory()
    samples = {
        "ok": question_photo,
        "truncated": lambda: question_photo()[:3000],
        "bomb": lambda: tiny_png(20_000, 20_000),
        "huge": lambda: question_photo(size=(3000, 3000), format="PNG") + b"\0" * 200_000,
    }
    photos = [
        SimpleUploadedFile("p.jpg", samples[p]() if isinstance(p, str) else p) for p in overrides.pop("photos", [])
    ]
    voice_bytes = overrides.pop("voice", None)
    arguments = {
        "subject": "math",
        "grade": 3,
        "idempotency_key": key(),
        "text": "x" if photos else "",
        **overrides,
    }
    if not photos and voice_bytes is None and "text" not in overrides and code not in ("empty_question",):
        arguments["text"] = "一个问题"

    with pytest.raises(ServiceError) as raised:
        question_create(
            student=student,
            photos=photos,
            voice=SimpleUploadedFile("v.webm", voice_bytes) if voice_bytes is not None else None,
            **arguments,
        )

    assert (raised.value.code, raised.value.status, raised.value.field) == (code, status, field)
    assert str(raised.value.message)
    assert Question.objects.count() == 0
    assert Attachment.objects.count() == 0
    assert stored_files(media_root) == []


def test_question_create_over_the_rate_limit_is_refused(settings):
    settings.XUEWEN = {**settings.XUEWEN, "QUESTIONS_PER_MINUTE": 3}
    student = StudentFactory()
    for n in range(3):
        question_create(student=student, subject="math", grade=3, idempotency_key=key(), text=f"第{n}题")

    with pytest.raises(ServiceError) as raised:
        question_create(student=student, subject="math", grade=3, idempotency_key=key(), text="第4题")

    assert (raised.value.code, raised.value.status) == ("rate_limited", 429)
    assert Question.objects.filter(student=student).count() == 3
    _, created = question_create(
        student=StudentFactory(), subject="math", grade=3, idempotency_key=key(), text="别人的题"
    )
    assert created is True


def test_question_understand_reads_the_photo_and_strips_its_metadata(media_root, django_capture_on_commit_callbacks):
    student = StudentFactory()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: the camera held sideways
    exif[0x8825] = {1: "N", 2: (28.0, 0.0, 0.0)}  # GPS latitude
    image = Image.open(io.BytesIO(question_photo())).rotate(90, expand=True)
    raw = io.BytesIO()
    image.save(raw, format="JPEG", exif=exif.tobytes(), quality=92)
    question, _ = question_create(
        student=student, subject="math", grade=3, idempotency_key=key(), photos=[photo_upload(raw.getvalue())]
    )
    original = question.attachments.get().original.name

    with django_capture_on_commit_callbacks(execute=True):
        question_understand(question_id=question.pk)

    question.refresh_from_db()
    attachment = question.attachments.get()
    assert (question.status, question.text_source) == (Question.Status.UNDERSTOOD, Question.TextSource.OCR)
    assert question.text.replace(" ", "") == QUESTION_TEXT
    assert question.text_confidence == attachment.confidence
    assert question.text_confidence > 0.9
    assert (attachment.status, attachment.width, attachment.height, attachment.original.name) == (
        Attachment.Status.DONE,
        900,
        240,
        "",
    )
    assert not default_storage.exists(original)
    processed = Image.open(default_storage.open(attachment.processed.name))
    assert (processed.size, dict(processed.getexif()), "exif" in processed.info) == ((900, 240), {}, False)
    assert Image.open(default_storage.open(attachment.thumbnail.name)).size == (320, 85)


def test_question_understand_hears_the_voice_clip(media_root):
    question, _ = question_create(
        student=StudentFactory(),
        subject="english",
        grade=5,
        idempotency_key=key(),
        voice=SimpleUploadedFile("v.ogg", voice_clip("what is the capital of france")),
    )

    question_understand(question_id=question.pk)

    question.refresh_from_db()
    attachment = question.attachments.get()
    assert (question.status, question.text_source, attachment.status) == (
        Question.Status.UNDERSTOOD,
        Question.TextSource.ASR,
        Attachment.Status.DONE,
    )
    assert "capital" in question.text.lower()
    assert 0.0 < question.text_confidence <= 1.0
    assert attachment.duration_seconds == pytest.approx(2.0, abs=1.0)
    assert default_storage.open(attachment.processed.name).read()[4:8] == b"ftyp"


def test_question_understand_records_a_failure_and_keeps_the_question_answerable(media_root):
    blank = question_photo(text="")
    question, _ = question_create(
        student=StudentFactory(), subject="math", grade=3, idempotency_key=key(), photos=[photo_upload(blank)]
    )

    question_understand(question_id=question.pk)

    question.refresh_from_db()
    attachment = question.attachments.get()
    assert (question.status, question.text, question.text_source, question.text_confidence) == (
        Question.Status.FAILED,
        "",
        Question.TextSource.NONE,
        None,
    )
    assert question.failure_reason == "没有识别出文字，请输入题目。"
    assert default_storage.exists(attachment.processed.name)

    corrected = question_text_correct(question=question, text="3加5等于几？")

    assert (corrected.status, corrected.text, corrected.text_source, corrected.text_confidence) == (
        Question.Status.UNDERSTOOD,
        "3加5等于几？",
        Question.TextSource.CORRECTED,
        1.0,
    )


def test_question_understand_combines_typed_text_and_photo():
    question, _ = question_create(
        student=StudentFactory(),
        subject="math",
        grade=3,
        idempotency_key=key(),
        text="第3题怎么做？",
        photos=[photo_upload()],
    )

    question_understand(question_id=question.pk)

    question.refresh_from_db()
    typed, recognised = question.text.split("\n")
    assert (typed, recognised.replace(" ", ""), question.text_source) == (
        "第3题怎么做？",
        QUESTION_TEXT,
        Question.TextSource.MIXED,
    )


def test_question_understand_is_idempotent():
    question = QuestionFactory(typed_text="3加5等于几？")
    question_understand(question_id=question.pk)
    question.refresh_from_db()
    understood_at = question.understood_at

    question_understand(question_id=question.pk)

    question.refresh_from_db()
    assert (question.status, question.text, question.text_source, question.understood_at) == (
        Question.Status.UNDERSTOOD,
        "3加5等于几？",
        Question.TextSource.TYPED,
        understood_at,
    )


def test_question_text_correct_refuses_empty_text_and_changes_nothing():
    question = QuestionFactory(typed_text="原来的题", text="原来的题", status=Question.Status.UNDERSTOOD)

    with pytest.raises(ServiceError) as raised:
        question_text_correct(question=question, text="  ")

    question.refresh_from_db()
    assert raised.value.code == "empty_question"
    assert (question.text, question.status) == ("原来的题", Question.Status.UNDERSTOOD)


def test_the_student_is_held_to_the_same_text_check_as_the_library():
    question = QuestionFactory(typed_text="原来的题", text="原来的题", status=Question.Status.UNDERSTOOD)
    student = StudentFactory()

    with pytest.raises(ServiceError) as corrected:
        question_text_correct(question=question, text="Сколько будет два плюс два?")
    with pytest.raises(ServiceError) as asked:
        question_create(
            student=student, subject="math", grade=3, idempotency_key=key(), text="Сколько будет два плюс два?"
        )

    question.refresh_from_db()
    assert (corrected.value.code, corrected.value.field) == ("unsupported_language", "text")
    assert (asked.value.code, asked.value.field) == ("unsupported_language", "text")
    assert (question.text, question.status) == ("原来的题", Question.Status.UNDERSTOOD)
    assert Question.objects.filter(student=student).count() == 0


def test_a_question_asked_while_the_broker_is_down_is_kept_with_its_photo(
    broker_down, media_root, redis_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        question, created = question_create(
            student=StudentFactory(), subject="math", grade=3, idempotency_key=key(), photos=[photo_upload()]
        )

    attachment = Attachment.objects.get(question=question)
    assert (created, Question.objects.get().status, attachment.status) == (True, Question.Status.RECEIVED, "pending")
    assert stored_files(media_root) == [media_root / attachment.original.name]
    assert redis_client.llen("media") == 0


def old(question: Question, *, minutes: int) -> Question:
    Question.objects.filter(pk=question.pk).update(created_at=timezone.now() - timedelta(minutes=minutes))
    return question


def test_the_sweep_queues_understanding_again_once_for_a_question_whose_task_was_lost(redis_client):
    lost = old(QuestionFactory(), minutes=11)
    stuck = old(QuestionFactory(status=Question.Status.PROCESSING), minutes=30)
    old(QuestionFactory(), minutes=9)  # its task may still wait in the queue
    old(QuestionFactory(status=Question.Status.UNDERSTOOD, text="3加5等于几？"), minutes=30)
    old(QuestionFactory(status=Question.Status.FAILED), minutes=30)

    first, again = questions_stalled_requeue(), questions_stalled_requeue()

    assert (first, again) == (2, 0)  # the second run leaves what the first queued alone
    assert queued_tasks(redis_client, "media") == [
        ("tutoring.questions.tasks.question_understand", f"({stuck.pk},)"),
        ("tutoring.questions.tasks.question_understand", f"({lost.pk},)"),
    ]
