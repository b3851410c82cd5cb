"""Writes for questions: intake, understanding (OCR/ASR) and the student's correction."""

import logging
import re
import tempfile
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from media.asr import asr_engine, whisper_model_dir
from media.errors import InvalidUpload, MediaProcessingError
from media.ocr import ocr_engine
from media.photos import photo_process
from media.recognition import Recognition
from media.uploads import extension_for, validate_photo, validate_voice
from media.voice import voice_transcode
from tutoring.accounts.models import User
from tutoring.core.errors import ServiceError
from tutoring.core.storage import stored_file_local_copy
from tutoring.library import services as library_services
from tutoring.library import tasks as library_tasks
from tutoring.questions import tasks
from tutoring.questions.events import question_status_event_send
from tutoring.questions.models import Attachment, Question
from tutoring.schools.models import Subject

logger = logging.getLogger(__name__)

IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def _limits() -> dict[str, Any]:
    return settings.XUEWEN


def _subject_and_grade(subject_code: str, grade: int) -> Subject:
    subject = Subject.objects.filter(code=subject_code).first()
    if subject is None:
        raise ServiceError("unknown_subject", _("Unknown subject."), field="subject")
    if not subject.teaches_grade(grade):
        raise ServiceError(
            "unknown_grade",
            _("%(subject)s is not taught in grade %(grade)s.") % {"subject": subject.name, "grade": grade},
            field="grade",
        )
    return subject


def _validated_uploads(photos: Sequence[IO[bytes]], voice: IO[bytes] | None) -> list[tuple[str, IO[bytes], str]]:
    """Check every upload by content before anything is written: (kind, file, content type)."""
    limits = _limits()
    if len(photos) > limits["MAX_PHOTOS"]:
        raise ServiceError(
            "too_many_photos", _("Send at most %(count)d photos.") % {"count": limits["MAX_PHOTOS"]}, field="photos"
        )
    checked: list[tuple[str, IO[bytes], str]] = []
    try:
        for photo in photos:
            info = validate_photo(photo, max_bytes=limits["MAX_PHOTO_BYTES"], max_pixels=limits["MAX_IMAGE_PIXELS"])
            checked.append((Attachment.Kind.PHOTO, photo, info.content_type))
        if voice is not None:
            voice_info = validate_voice(voice, max_bytes=limits["MAX_VOICE_BYTES"])
            checked.append((Attachment.Kind.VOICE, voice, voice_info.content_type))
    except InvalidUpload as error:
        field = "voice" if voice is not None and len(checked) == len(photos) else "photos"
        status = 413 if error.code == "too_large" else 400
        raise ServiceError(error.code, error.message, status=status, field=field) from error
    return checked


def _upload_path(question: Question, content_type: str, suffix: str = "") -> str:
    created = question.created_at
    extension = extension_for(content_type) if content_type else ".jpg"
    return f"questions/{created:%Y/%m}/{question.pk}/{uuid.uuid4().hex}{suffix}{extension}"


def question_create(
    *,
    student: User,
    subject_code: str,
    grade: int,
    idempotency_key: str,
    text: str = "",
    photos: Sequence[IO[bytes]] = (),
    voice: IO[bytes] | None = None,
) -> tuple[Question, bool]:
    """Commit a question and its raw uploads, then queue its understanding.

    Returns ``(question, created)``. Replaying an idempotency key returns the
    first question and creates nothing. Bad input raises ``ServiceError`` and
    writes nothing.
    """
    if not IDEMPOTENCY_KEY_PATTERN.match(idempotency_key or ""):
        raise ServiceError(
            "invalid_idempotency_key", _("The request key is missing or malformed."), field="idempotency_key"
        )
    existing = Question.objects.filter(student=student, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False

    text = (text or "").strip()
    limits = _limits()
    if len(text) > limits["MAX_TEXT_CHARS"]:
        raise ServiceError(
            "text_too_long",
            _("The question is longer than %(count)d characters.") % {"count": limits["MAX_TEXT_CHARS"]},
            field="text",
        )
    subject = _subject_and_grade(subject_code, grade)
    if not text and not photos and voice is None:
        raise ServiceError("empty_question", _("Type the question, take a photo or record your voice."))
    uploads = _validated_uploads(photos, voice)

    written: list[str] = []
    try:
        with transaction.atomic():
            # One submission at a time per student: the rate limit and the key check hold under concurrency.
            User.objects.select_for_update().filter(pk=student.pk).first()
            existing = Question.objects.filter(student=student, idempotency_key=idempotency_key).first()
            if existing is not None:
                return existing, False
            since = timezone.now() - timedelta(minutes=1)
            if (
                Question.objects.filter(student=student, created_at__gte=since).count()
                >= limits["QUESTIONS_PER_MINUTE"]
            ):
                raise ServiceError(
                    "rate_limited", _("You are asking too quickly. Please wait a minute and try again."), status=429
                )
            question = Question.objects.create(
                student=student,
                subject=subject,
                grade=grade,
                idempotency_key=idempotency_key,
                typed_text=text,
            )
            for position, (kind, upload, content_type) in enumerate(uploads):
                upload.seek(0)
                name = default_storage.save(_upload_path(question, content_type), File(upload))
                written.append(name)
                Attachment.objects.create(
                    question=question,
                    kind=kind,
                    position=position,
                    content_type=content_type,
                    size_bytes=default_storage.size(name),
                    original=name,
                )
            tasks.question_understand.delay_on_commit(question.pk)
    except IntegrityError:
        # A concurrent replay of the same key won the insert: answer with its question.
        _storage_delete(written)
        return Question.objects.get(student=student, idempotency_key=idempotency_key), False
    except BaseException:
        _storage_delete(written)
        raise
    logger.info(
        "question.created",
        extra={"question_id": question.pk, "attachments": len(uploads), "subject": subject.code, "grade": grade},
    )
    return question, True


def _storage_delete(names: Sequence[str]) -> None:
    for name in names:
        default_storage.delete(name)


def question_text_correct(*, question: Question, text: str) -> Question:
    """The student's own wording replaces the recognised text."""
    text = (text or "").strip()
    if not text:
        raise ServiceError("empty_question", _("The question text cannot be empty."), field="text")
    if len(text) > _limits()["MAX_TEXT_CHARS"]:
        raise ServiceError(
            "text_too_long",
            _("The question is longer than %(count)d characters.") % {"count": _limits()["MAX_TEXT_CHARS"]},
            field="text",
        )
    with transaction.atomic():
        question = Question.objects.select_for_update().get(pk=question.pk)
        question.text = text
        question.text_source = Question.TextSource.CORRECTED
        question.text_confidence = 1.0
        question.failure_reason = ""
        fields = ["text", "text_source", "text_confidence", "failure_reason"]
        if question.status in (Question.Status.FAILED, Question.Status.RECEIVED, Question.Status.PROCESSING):
            question.status = Question.Status.UNDERSTOOD
            question.understood_at = question.understood_at or timezone.now()
            fields += ["status", "understood_at"]
        question.save(update_fields=fields)
        if question.status == Question.Status.UNDERSTOOD:
            library_services.question_matches_forget(question=question)  # they matched the old wording
            library_tasks.question_match.delay_on_commit(question.pk)  # the new wording may match better
        question_status_event_send(question)
    logger.info("question.corrected", extra={"question_id": question.pk})
    return question


# --- Understanding ---------------------------------------------------------------------


def question_understand(*, question_id: int) -> None:
    """Read the photos and hear the voice clip of a question, then settle its text.

    Idempotent: finished questions and finished attachments are skipped, so a
    redelivered task does only the work that is left. No transaction is held
    while media are processed.
    """
    claimed = Question.objects.filter(
        pk=question_id, status__in=[Question.Status.RECEIVED, Question.Status.PROCESSING]
    ).update(status=Question.Status.PROCESSING)
    if not claimed:
        return
    question_status_event_send(Question.objects.get(pk=question_id))
    pending = Attachment.objects.filter(question_id=question_id, status=Attachment.Status.PENDING).order_by("position")
    for attachment in pending:
        _attachment_understand(attachment)
        question_status_event_send(Question.objects.get(pk=question_id))
    _question_understanding_settle(question_id)


def _attachment_finish(attachment: Attachment, *, files: dict[str, bytes | Path], **fields: Any) -> None:
    """Store processed files, then record the result if the attachment is still pending."""
    question = attachment.question
    for field, content in files.items():
        suffix = "-thumb" if field == "thumbnail" else ""
        content_type = "image/jpeg" if attachment.kind == Attachment.Kind.PHOTO else "audio/mp4"
        data = content if isinstance(content, bytes) else Path(content).read_bytes()
        fields[field] = default_storage.save(_upload_path(question, content_type, suffix), ContentFile(data))
    original = attachment.original.name
    with transaction.atomic():
        updated = Attachment.objects.filter(pk=attachment.pk, status=Attachment.Status.PENDING).update(**fields)
        if updated and "processed" in fields and original:
            Attachment.objects.filter(pk=attachment.pk).update(original="")
            transaction.on_commit(lambda: default_storage.delete(original))
    if not updated:
        _storage_delete([fields[field] for field in files])


def _attachment_understand(attachment: Attachment) -> None:
    """Sanitise or transcode one upload, then read or hear it; a failure at either step is recorded."""
    files: dict[str, bytes | Path] = {}
    fields: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="xuewen-media-") as directory:
        try:
            source = stored_file_local_copy(attachment.original.name, directory)
            if attachment.kind == Attachment.Kind.PHOTO:
                recognition = _photo_read(source, Path(directory), files, fields)
            else:
                recognition = _voice_hear(source, Path(directory), files, fields)
        except MediaProcessingError as error:
            logger.warning("attachment.failed", extra={"attachment_id": attachment.pk, "reason": error.code})
            _attachment_finish(
                attachment, files=files, status=Attachment.Status.FAILED, error=str(error.message), **fields
            )
            return
        _attachment_finish(
            attachment,
            files=files,
            status=Attachment.Status.DONE,
            recognized_text=recognition.text,
            confidence=recognition.confidence,
            **fields,
        )


def _photo_read(source: Path, directory: Path, files: dict[str, bytes | Path], fields: dict[str, Any]) -> Recognition:
    """Strip and downscale the photo (kept even if OCR then fails), then OCR it."""
    photo = photo_process(source)
    files.update(processed=photo.image, thumbnail=photo.thumbnail)
    fields.update(width=photo.width, height=photo.height)
    processed = directory / "processed.jpg"
    processed.write_bytes(photo.image)
    return ocr_engine(settings.XUEWEN["OCR_ENGINE"]).recognize(processed)


def _voice_hear(source: Path, directory: Path, files: dict[str, bytes | Path], fields: dict[str, Any]) -> Recognition:
    """Transcode the clip (the AAC copy is kept even if ASR then fails), then transcribe it."""
    wav, playback = directory / "voice.wav", directory / "voice.m4a"
    fields["duration_seconds"] = voice_transcode(
        source, wav_path=wav, playback_path=playback, max_seconds=settings.XUEWEN["MAX_VOICE_SECONDS"]
    )
    files["processed"] = playback
    model_dir = settings.XUEWEN["ASR_MODEL_DIR"] or whisper_model_dir(settings.VAR_DIR / "models")
    return asr_engine(model_dir).transcribe(wav)


def _question_understanding_settle(question_id: int) -> None:
    """Compose the question's text from what was typed and recognised, and close understanding."""
    with transaction.atomic():
        question = Question.objects.select_for_update().get(pk=question_id)
        if question.status != Question.Status.PROCESSING:
            return
        attachments = list(question.attachments.all())
        recognized = [a for a in attachments if a.status == Attachment.Status.DONE and a.recognized_text.strip()]
        parts = ([question.typed_text] if question.typed_text else []) + [a.recognized_text.strip() for a in recognized]
        kinds = {a.kind for a in recognized}
        if (question.typed_text and recognized) or len(kinds) > 1:
            source = Question.TextSource.MIXED
        elif question.typed_text:
            source = Question.TextSource.TYPED
        elif kinds == {Attachment.Kind.PHOTO}:
            source = Question.TextSource.OCR
        else:
            source = Question.TextSource.ASR
        question.text = "\n".join(parts)
        if question.text:
            question.status = Question.Status.UNDERSTOOD
            question.understood_at = timezone.now()
            question.text_source = source
            question.text_confidence = min([a.confidence or 0.0 for a in recognized], default=1.0)
            question.failure_reason = ""
        else:
            question.status = Question.Status.FAILED
            question.text_source = Question.TextSource.NONE
            question.text_confidence = None
            errors = [a.error for a in attachments if a.error]
            question.failure_reason = "; ".join(errors) or str(
                _("No text could be recognised. Please type the question.")
            )
        question.save(
            update_fields=["text", "status", "understood_at", "text_source", "text_confidence", "failure_reason"]
        )
        question_status_event_send(question)
        if question.status == Question.Status.UNDERSTOOD:
            library_tasks.question_match.delay_on_commit(question.pk)
    logger.info("question.understood", extra={"question_id": question_id, "status": question.status})


def questions_stalled_requeue(*, older_than: timedelta = timedelta(minutes=10)) -> int:
    """Queue understanding again for questions whose task was lost (e.g. a broker restart)."""
    stalled = list(
        Question.objects.filter(
            status__in=[Question.Status.RECEIVED, Question.Status.PROCESSING],
            created_at__lt=timezone.now() - older_than,
        ).values_list("pk", flat=True)[:1000]
    )
    for question_id in stalled:
        tasks.question_understand.delay(question_id)
    if stalled:
        logger.warning("question.stalled_requeued", extra={"count": len(stalled)})
    return len(stalled)
