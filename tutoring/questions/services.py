"""Writes for questions: intake, understanding (OCR/ASR) and the student's correction. Every status change goes
through ``tutoring.questions.lifecycle``."""

import logging
import re
import tempfile
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from media.errors import MediaProcessingError
from tutoring.accounts.models import User
from tutoring.core.errors import ServiceError
from tutoring.core.queueing import queue_on_commit, stalled_requeue
from tutoring.core.storage import stored_file_local_copy
from tutoring.core.uploads import (
    PHOTO,
    VOICE,
    ProcessedUpload,
    upload_check,
    upload_files_store,
    upload_process,
    upload_recognise,
    upload_store,
)
from tutoring.knowledge.models import KnowledgePoint, TagSource
from tutoring.questions import tasks
from tutoring.questions.events import question_status_event_send
from tutoring.questions.lifecycle import question_lock, question_transition
from tutoring.questions.models import Attachment, Question, QuestionKnowledgePoint
from tutoring.schools.models import Subject
from tutoring.schools.selectors import subject_find

logger = logging.getLogger(__name__)

# A question not understood this long after it was asked has lost its task: longer than the task runs (its time
# limit is 330 s) with a short wait in the media queue.
UNDERSTANDING_GRACE = timedelta(minutes=10)

IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

# Scripts questions are written in: Chinese, and Latin letters (English, formulas).
_SUPPORTED = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fffA-Za-z]")
_LETTER = re.compile(r"[^\W\d_]")

Upload = tuple[str, IO[bytes], str]  # kind, the file as received, its content type


def question_text_check(text: str | None, *, field: str = "text", empty_code: str = "empty_text") -> str:
    """A question's text stripped, or a ServiceError: empty (``empty_code``), longer than MAX_TEXT_CHARS, or
    mostly in a script the platform does not match. The one check of a question's wording: the student's,
    the library's and the teacher's corrections of both."""
    text = (text or "").strip()
    limit = settings.XUEWEN["MAX_TEXT_CHARS"]
    if not text:
        raise ServiceError(empty_code, _("The question text cannot be empty."), field=field)
    if len(text) > limit:
        raise ServiceError(
            "text_too_long", _("The question is longer than %(count)d characters.") % {"count": limit}, field=field
        )
    letters = _LETTER.findall(text)
    if letters and sum(1 for c in letters if _SUPPORTED.match(c)) < 0.8 * len(letters):
        raise ServiceError("unsupported_language", _("Questions must be written in Chinese or English."), field=field)
    return text


def subject_and_grade_check(*, subject: str, grade: Any) -> tuple[Subject, int]:
    """The subject named by its code (``math``) or its name (``数学``) and a grade it is taught in, or a
    ServiceError (``unknown_subject``, ``unknown_grade``). The one check of a subject and grade: the student's
    question, the library's entries, matching and the teacher's corrections."""
    found = subject_find(str(subject or ""))
    if found is None:
        raise ServiceError("unknown_subject", _("Unknown subject."), field="subject")
    try:
        number = int(grade)
    except (TypeError, ValueError):
        raise ServiceError("unknown_grade", _("The grade must be a number from 1 to 12."), field="grade") from None
    if not found.teaches_grade(number):
        raise ServiceError(
            "unknown_grade",
            _("%(subject)s is not taught in grade %(grade)s.") % {"subject": found.name, "grade": number},
            field="grade",
        )
    return found, number


def question_create(
    *,
    student: User,
    subject: str,
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
    text, subject_row, grade, uploads = _question_input_check(subject, grade, text, photos, voice)
    return _question_commit(student, subject_row, grade, idempotency_key, text, uploads)


def _question_input_check(
    subject: str, grade: int, text: str, photos: Sequence[IO[bytes]], voice: IO[bytes] | None
) -> tuple[str, Subject, int, list[Upload]]:
    """Everything the student sent, checked before anything is written: the text, the subject and grade, that
    something was asked at all, and every upload by its content."""
    text = question_text_check(text) if (text or "").strip() else ""
    subject_row, grade = subject_and_grade_check(subject=subject, grade=grade)
    if not text and not photos and voice is None:
        raise ServiceError("empty_question", _("Type the question, take a photo or record your voice."))
    most = settings.XUEWEN["MAX_PHOTOS"]
    if len(photos) > most:
        raise ServiceError("too_many_photos", _("Send at most %(count)d photos.") % {"count": most}, field="photos")
    uploads = [(PHOTO, photo, upload_check(photo, kinds={PHOTO}, field="photos").content_type) for photo in photos]
    if voice is not None:
        uploads.append((VOICE, voice, upload_check(voice, kinds={VOICE}, field="voice").content_type))
    return text, subject_row, grade, uploads


def _question_commit(
    student: User, subject: Subject, grade: int, idempotency_key: str, text: str, uploads: list[Upload]
) -> tuple[Question, bool]:
    """The question and its raw uploads in one transaction, one submission of the student's at a time (so the
    rate limit and the key hold under concurrency); files written for a submission that fails are deleted."""
    written: list[str] = []
    try:
        with transaction.atomic():
            User.objects.select_for_update().filter(pk=student.pk).first()
            existing = Question.objects.filter(student=student, idempotency_key=idempotency_key).first()
            if existing is not None:
                return existing, False
            _rate_limit_check(student)
            question = Question.objects.create(
                student=student, subject=subject, grade=grade, idempotency_key=idempotency_key, typed_text=text
            )
            _attachments_store(question, uploads, written)
            queue_on_commit(
                lambda: tasks.question_understand.delay(question.pk), what=f"question_understand.{question.pk}"
            )
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


def _rate_limit_check(student: User) -> None:
    since = timezone.now() - timedelta(minutes=1)
    if (
        Question.objects.filter(student=student, created_at__gte=since).count()
        >= settings.XUEWEN["QUESTIONS_PER_MINUTE"]
    ):
        raise ServiceError(
            "rate_limited", _("You are asking too quickly. Please wait a minute and try again."), status=429
        )


def _question_folder(question: Question) -> str:
    return f"questions/{question.created_at:%Y/%m}/{question.pk}"


def _attachments_store(question: Question, uploads: list[Upload], written: list[str]) -> None:
    """The raw uploads as received, until understanding keeps their sanitised form (``written`` collects the
    stored names, for the caller to delete should the transaction fail)."""
    for position, (kind, upload, content_type) in enumerate(uploads):
        name = upload_store(upload, folder=_question_folder(question), content_type=content_type)
        written.append(name)
        Attachment.objects.create(
            question=question,
            kind=kind,
            position=position,
            content_type=content_type,
            size_bytes=upload.seek(0, 2),
            original=name,
        )


def _storage_delete(names: Sequence[str]) -> None:
    for name in names:
        default_storage.delete(name)


# A correction of a question in one of these makes it understood with the new text (matched anew).
_UNDERSTOOD_ON_CORRECTION = (
    Question.Status.RECEIVED,
    Question.Status.PROCESSING,
    Question.Status.FAILED,
    Question.Status.UNDERSTOOD,
)


def question_text_correct(*, question: Question, text: str) -> Question:
    """The student's own wording replaces the recognised text. A question not yet answered by a match or a teacher
    is understood with it and matched anew (the matches of the old wording go at once)."""
    text = question_text_check(text, empty_code="empty_question")
    changes: dict[str, Any] = {
        "text": text,
        "text_source": Question.TextSource.CORRECTED,
        "text_confidence": 1.0,
        "failure_reason": "",
    }
    with transaction.atomic():
        question = question_lock(question.pk)
        if question.status in _UNDERSTOOD_ON_CORRECTION:
            understood_at = question.understood_at or timezone.now()
            question_transition(
                question=question,
                to=Question.Status.UNDERSTOOD,
                understood_at=understood_at,
                match_outcome=Question.MatchOutcome.PENDING,
                matched_at=None,
                **changes,
            )
        else:
            Question.objects.filter(pk=question.pk).update(**changes)
            for field, value in changes.items():
                setattr(question, field, value)
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
    question = Question.objects.filter(pk=question_id).first()
    if question is None:
        return
    try:
        question_transition(question=question, to=Question.Status.PROCESSING)
    except ServiceError:
        return  # understood or failed already (or corrected by the student meanwhile)
    pending = Attachment.objects.filter(question_id=question_id, status=Attachment.Status.PENDING).order_by("position")
    for attachment in pending.select_related("question"):
        _attachment_understand(attachment)
        question_status_event_send(question)
    _question_understanding_settle(question_id)


def _attachment_understand(attachment: Attachment) -> None:
    """Sanitise or transcode one upload, keep that, then read or hear it; a failure at either step is recorded
    (a photo OCR cannot read is still kept, so is a clip ASR cannot hear)."""
    processed: ProcessedUpload | None = None
    with tempfile.TemporaryDirectory(prefix="xuewen-media-") as scratch:
        directory = Path(scratch)
        try:
            source = stored_file_local_copy(attachment.original, directory)
            processed = upload_process(source, kind=attachment.kind, directory=directory)
            recognition = upload_recognise(processed, directory=directory)
        except MediaProcessingError as error:
            logger.warning("attachment.failed", extra={"attachment_id": attachment.pk, "reason": error.code})
            _attachment_finish(attachment, processed, status=Attachment.Status.FAILED, error=str(error.message))
            return
        _attachment_finish(
            attachment,
            processed,
            status=Attachment.Status.DONE,
            recognized_text=recognition.text,
            confidence=recognition.confidence,
        )


def _attachment_finish(attachment: Attachment, processed: ProcessedUpload | None, **fields: Any) -> None:
    """Store the processed files, then record the result if the attachment is still pending; the raw upload
    is deleted once its processed form is recorded."""
    if processed is not None:
        fields |= upload_files_store(processed, folder=_question_folder(attachment.question))
        fields |= {"width": processed.width, "height": processed.height, "duration_seconds": processed.duration_seconds}
    original = attachment.original.name
    with transaction.atomic():
        updated = Attachment.objects.filter(pk=attachment.pk, status=Attachment.Status.PENDING).update(**fields)
        if updated and "processed" in fields and original:
            Attachment.objects.filter(pk=attachment.pk).update(original="")
            transaction.on_commit(lambda: default_storage.delete(original))
    if not updated and processed is not None:
        _storage_delete([fields[variant] for variant in processed.files])


def _question_understanding_settle(question_id: int) -> None:
    """Compose the question's text from what was typed and recognised: understood with it, or failed with the
    reasons when there is none."""
    with transaction.atomic():
        question = question_lock(question_id)
        if question.status != Question.Status.PROCESSING:
            return  # the student typed the text meanwhile
        attachments = list(question.attachments.all())
        recognized = [a for a in attachments if a.status == Attachment.Status.DONE and a.recognized_text.strip()]
        text = "\n".join(
            ([question.typed_text] if question.typed_text else []) + [a.recognized_text.strip() for a in recognized]
        )
        if text:
            question_transition(
                question=question,
                to=Question.Status.UNDERSTOOD,
                text=text,
                understood_at=timezone.now(),
                text_source=_text_source(question, recognized),
                text_confidence=min([a.confidence or 0.0 for a in recognized], default=1.0),
                failure_reason="",
            )
        else:
            reasons = "; ".join(a.error for a in attachments if a.error)
            question_transition(
                question=question,
                to=Question.Status.FAILED,
                text="",
                text_source=Question.TextSource.NONE,
                text_confidence=None,
                failure_reason=reasons or str(_("No text could be recognised. Please type the question.")),
            )
    logger.info("question.understood", extra={"question_id": question_id, "status": question.status})


def _text_source(question: Question, recognized: list[Attachment]) -> str:
    kinds = {attachment.kind for attachment in recognized}
    if (question.typed_text and recognized) or len(kinds) > 1:
        return Question.TextSource.MIXED
    if question.typed_text:
        return Question.TextSource.TYPED
    return Question.TextSource.OCR if kinds == {Attachment.Kind.PHOTO} else Question.TextSource.ASR


def questions_stalled_requeue(*, older_than: timedelta = UNDERSTANDING_GRACE) -> int:
    """Queue understanding again for questions still not understood ``older_than`` after they were asked (their
    task was lost), the oldest first. Returns how many were queued."""
    stalled = Question.objects.filter(
        status__in=[Question.Status.RECEIVED, Question.Status.PROCESSING],
        created_at__lt=timezone.now() - older_than,
    ).order_by("created_at")
    return stalled_requeue(tasks.question_understand, stalled.values_list("pk", flat=True)[:1000], grace=older_than)


# --- Knowledge points ------------------------------------------------------------------


def question_knowledge_points_set(
    *, question: Question, points: Sequence[tuple[KnowledgePoint, float | None]], source: TagSource
) -> bool:
    """The question's knowledge points, best first (with the tagger's confidence): a teacher's choice replaces
    whatever the question had; the tagger's replaces only the tagger's, never a teacher's. Returns whether they
    were written."""
    with transaction.atomic():
        question_lock(question.pk)  # a teacher's choice and the tagger's do not cross
        tags = QuestionKnowledgePoint.objects.filter(question=question)
        if source == TagSource.TAGGER and tags.filter(source=TagSource.TEACHER).exists():
            return False
        tags.delete()
        QuestionKnowledgePoint.objects.bulk_create(
            QuestionKnowledgePoint(question=question, point=point, source=source, confidence=confidence, rank=rank)
            for rank, (point, confidence) in enumerate(points)
        )
    return True
