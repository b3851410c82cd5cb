"""Writes for the library of answered questions, and matching students' questions against it."""

import logging
import re
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from matching.ranking import Match as RankedMatch
from matching.ranking import match, outcome
from media.errors import InvalidUpload, MediaProcessingError
from media.ocr import ocr_engine
from media.photos import photo_process
from media.uploads import extension_for, validate_photo, validate_video
from media.video import video_probe, video_transcode
from tutoring.accounts.models import User
from tutoring.core.errors import ServiceError
from tutoring.core.storage import stored_file_local_copy
from tutoring.library import tasks
from tutoring.library.index import encoder, index_get
from tutoring.library.models import Answer, Entry, Feedback, Match
from tutoring.questions.events import question_status_event_send
from tutoring.questions.models import Question
from tutoring.routing.services import ticket_enqueue, ticket_leave
from tutoring.schools.models import Subject
from tutoring.schools.selectors import subject_find

logger = logging.getLogger(__name__)

MATCHES_SHOWN = 5
GRADE_REACH = 1  # a question is matched against answers of its grade and the grades next to it

# Scripts the library is written in: Chinese, and Latin letters (English, formulas).
_SUPPORTED = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fffA-Za-z]")
_LETTER = re.compile(r"[^\W\d_]")


def question_text_check(text: str, *, field: str = "text") -> str:
    """The text stripped, or a ServiceError: empty, too long, or mostly in a script we do not match."""
    text = (text or "").strip()
    limit = settings.XUEWEN["MAX_TEXT_CHARS"]
    if not text:
        raise ServiceError("empty_text", _("The question text cannot be empty."), field=field)
    if len(text) > limit:
        raise ServiceError(
            "text_too_long", _("The question is longer than %(count)d characters.") % {"count": limit}, field=field
        )
    letters = _LETTER.findall(text)
    if letters and sum(1 for c in letters if _SUPPORTED.match(c)) < 0.8 * len(letters):
        raise ServiceError("unsupported_language", _("Questions must be written in Chinese or English."), field=field)
    return text


def subject_and_grade_check(subject: str, grade: Any) -> tuple[Subject, int]:
    found = subject_find(str(subject or ""))
    if found is None:
        raise ServiceError("unknown_subject", _("Unknown subject."), field="subject")
    try:
        number = int(grade)
    except (TypeError, ValueError):
        raise ServiceError("unknown_grade", _("The grade must be a number from 1 to 12."), field="grade") from None
    if not 1 <= number <= 12:
        raise ServiceError("unknown_grade", _("The grade must be a number from 1 to 12."), field="grade")
    return found, number


def _storage_save(prefix: str, content_type: str, content: IO[bytes] | bytes) -> str:
    name = f"library/{prefix}/{uuid.uuid4().hex}{extension_for(content_type)}"
    return default_storage.save(name, ContentFile(content) if isinstance(content, bytes) else File(content))


def _video_check(video: IO[bytes]) -> str:
    """The video's content type if it is a video ffmpeg can read; ServiceError otherwise."""
    try:
        info = validate_video(video, max_bytes=settings.XUEWEN["MAX_VIDEO_BYTES"])
        with tempfile.NamedTemporaryFile(suffix=extension_for(info.content_type)) as copy:
            video.seek(0)
            for chunk in iter(lambda: video.read(1 << 20), b""):
                copy.write(chunk)
            copy.flush()
            video_probe(copy.name)
    except (InvalidUpload, MediaProcessingError) as error:
        status = 413 if error.code == "too_large" else 400
        raise ServiceError(error.code, error.message, status=status, field="video") from error
    video.seek(0)
    return info.content_type


def _photo_read(photo: IO[bytes]) -> tuple[bytes, str]:
    """The photo sanitised (EXIF applied and stripped, downscaled) and the text OCR reads in it."""
    try:
        validate_photo(
            photo, max_bytes=settings.XUEWEN["MAX_PHOTO_BYTES"], max_pixels=settings.XUEWEN["MAX_IMAGE_PIXELS"]
        )
        with tempfile.TemporaryDirectory() as directory:
            original, processed = Path(directory) / "original", Path(directory) / "processed.jpg"
            original.write_bytes(photo.read())
            image = photo_process(original).image
            processed.write_bytes(image)
            return image, ocr_engine(settings.XUEWEN["OCR_ENGINE"]).recognize(processed).text
    except (InvalidUpload, MediaProcessingError) as error:
        raise ServiceError(error.code, error.message, field="photo") from error


def entry_save(
    *,
    text: str,
    subject: str,
    grade: Any,
    knowledge_points: Sequence[str] = (),
    solution: str = "",
    video: IO[bytes] | None = None,
    photo: IO[bytes] | None = None,
    external_id: str | None = None,
    created_by: User | None = None,
    source_question: Question | None = None,
) -> tuple[Entry, bool]:
    """Add an answered question to the library, or update the one with this ``external_id``.

    The question is its ``text``, or the text read from its ``photo``. Returns ``(entry, created)``.
    Everything is checked before anything is written; a video is stored as uploaded and transcoded
    by a ``media`` task, after which the entry becomes searchable.
    """
    photo_image, photo_text = _photo_read(photo) if photo is not None else (None, "")
    text = question_text_check(text or photo_text)
    subject_row, grade_number = subject_and_grade_check(subject, grade)
    solution = (solution or "").strip()
    if not solution and video is None and not (external_id and Entry.objects.filter(external_id=external_id).exists()):
        raise ServiceError("no_answer", _("Give a video or a worked solution."))
    if not all(isinstance(point, str) and point.strip() for point in knowledge_points):
        raise ServiceError("invalid_knowledge_points", _("Knowledge points must be text."), field="knowledge_points")
    video_type = _video_check(video) if video is not None else None

    written: list[str] = []
    try:
        with transaction.atomic():
            entry = Entry.objects.select_for_update().filter(external_id=external_id).first() if external_id else None
            created = entry is None
            entry = entry or Entry(external_id=external_id, created_by=created_by, source_question=source_question)
            if entry.text != text:
                entry.vector_forget()
            entry.text, entry.subject, entry.grade = text, subject_row, grade_number
            entry.knowledge_points = [point.strip() for point in knowledge_points]
            entry.status = Entry.Status.ACTIVE
            if photo_image is not None:
                entry.photo = _storage_save("photos", "image/jpeg", photo_image)
                written.append(entry.photo.name)
            entry.save()
            if solution:
                entry.answers.filter(kind=Answer.Kind.SOLUTION).delete()
                Answer.objects.create(
                    entry=entry,
                    kind=Answer.Kind.SOLUTION,
                    status=Answer.Status.READY,
                    solution=solution,
                    created_by=created_by,
                )
            if video is not None and video_type is not None:
                original = _storage_save("uploads", video_type, video)
                written.append(original)
                answer = Answer.objects.create(
                    entry=entry,
                    kind=Answer.Kind.VIDEO,
                    status=Answer.Status.PROCESSING,
                    original=original,
                    created_by=created_by,
                )
                tasks.answer_video_process.delay_on_commit(answer.pk)
    except BaseException:
        for name in written:
            default_storage.delete(name)
        raise
    logger.info("library.entry_saved", extra={"entry_id": entry.pk, "entry_created": created})
    return entry, created


def entry_video_publish(
    *,
    external_id: str,
    text: str,
    subject: str,
    grade: Any,
    knowledge_points: Sequence[str],
    video: str,
    poster: str,
    duration_seconds: float,
    created_by: User,
    source_question: Question,
) -> Entry:
    """A video made for phones by the platform itself (a session recording, already stored with its poster)
    answers the entry with this ``external_id``: created the first time, its question updated after. The
    index picks the entry up at its next catch-up."""
    text = question_text_check(text)
    subject_row, grade_number = subject_and_grade_check(subject, grade)
    with transaction.atomic():
        entry = Entry.objects.select_for_update().filter(external_id=external_id).first()
        entry = entry or Entry(external_id=external_id, created_by=created_by, source_question=source_question)
        if entry.text != text:
            entry.vector_forget()
        entry.text, entry.subject, entry.grade = text, subject_row, grade_number
        entry.knowledge_points = list(knowledge_points)
        entry.status = Entry.Status.ACTIVE
        entry.save()
        Answer.objects.get_or_create(
            entry=entry,
            kind=Answer.Kind.VIDEO,
            video=video,
            defaults={
                "status": Answer.Status.READY,
                "poster": poster,
                "duration_seconds": duration_seconds,
                "created_by": created_by,
            },
        )
    logger.info("library.video_published", extra={"entry_id": entry.pk, "external_id": external_id})
    return entry


def answer_video_process(*, answer_id: int) -> None:
    """Transcode an uploaded answer video for phones, with a poster; then its entry is searchable."""
    answer = Answer.objects.filter(pk=answer_id, status=Answer.Status.PROCESSING).select_related("entry").first()
    if answer is None:
        return
    with tempfile.TemporaryDirectory(prefix="xuewen-video-") as directory:
        source = stored_file_local_copy(answer.original.name, directory)
        video, poster = Path(directory) / "answer.mp4", Path(directory) / "poster.jpg"
        try:
            processed = video_transcode(source, dst=video, poster=poster)
        except MediaProcessingError as error:
            logger.warning("library.video_failed", extra={"answer_id": answer_id, "reason": error.code})
            Answer.objects.filter(pk=answer_id).update(status=Answer.Status.FAILED, error=str(error.message))
            return
        names = [
            _storage_save("videos", "video/mp4", video.read_bytes()),
            _storage_save("posters", "image/jpeg", poster.read_bytes()),
        ]
    original = answer.original.name
    with transaction.atomic():
        updated = Answer.objects.filter(pk=answer_id, status=Answer.Status.PROCESSING).update(
            status=Answer.Status.READY,
            video=names[0],
            poster=names[1],
            duration_seconds=processed.duration_seconds,
            original="",
        )
        if updated:
            answer.entry.save(update_fields=["updated_at"])  # the index picks the entry up
            transaction.on_commit(lambda: default_storage.delete(original))
    if not updated:
        for name in names:
            default_storage.delete(name)


def entry_withdraw(*, entry: Entry) -> Entry:
    """Stop offering an entry (its answers stay); the index drops it at its next catch-up."""
    entry.status = Entry.Status.WITHDRAWN
    entry.save(update_fields=["status", "updated_at"])
    logger.info("library.entry_withdrawn", extra={"entry_id": entry.pk})
    return entry


def library_search(*, text: str, subject: Subject, grade: int, limit: int = MATCHES_SHOWN) -> list[RankedMatch]:
    """Same or similar answered questions for a text, best first; [] when none fits."""
    return match(
        text,
        subject=subject.code,
        grades=(grade - GRADE_REACH, grade + GRADE_REACH),
        store=index_get(),
        encoder=encoder(),
        limit=limit,
    )


def library_search_result(*, text: str, subject: str, grade: Any) -> dict[str, Any]:
    """Checked input, searched: the outcome and the matches as JSON, for operators' tools and the API."""
    text = question_text_check(text)
    subject_row, grade_number = subject_and_grade_check(subject, grade)
    ranked = library_search(text=text, subject=subject_row, grade=grade_number)
    return {
        "outcome": outcome(ranked),
        "matches": [
            {
                "entry_id": match.entry.id,
                "text": match.entry.text,
                "subject": match.entry.subject,
                "grade": match.entry.grade,
                "label": match.label,
                "score": round(match.score, 4),
                "dense": round(match.dense, 4),
                "lexical": round(match.lexical, 4),
                "numbers_agree": match.numbers_agree,
            }
            for match in ranked
        ],
    }


def question_matches_forget(*, question: Question) -> None:
    """The student corrected the text of an understood question, which is matched again: the matches found for the
    old wording go now, so until the new result arrives the question shows as being matched, not as matching them.
    Runs in the caller's transaction, with the question locked. Only unjudged matches are ever deleted: a student's
    verdict moves the question on from "understood", and ``Feedback.match`` restricts deleting a judged one.
    """
    question.matches.all().delete()
    question.match_outcome = Question.MatchOutcome.PENDING
    question.matched_at = None
    question.save(update_fields=["match_outcome", "matched_at"])


def question_match(*, question_id: int) -> None:
    """Match an understood question against the library, store the result and tell the student.

    With no fitting answer the question waits for a live teacher. Re-running replaces the
    previous matches. A result for a text the student has corrected since is dropped: the
    correction queued another match.
    """
    question = Question.objects.select_related("subject").filter(pk=question_id).first()
    if question is None or question.status != Question.Status.UNDERSTOOD:
        return
    text = question.text
    ranked = library_search(text=text, subject=question.subject, grade=question.grade)
    with transaction.atomic():
        question = Question.objects.select_for_update().get(pk=question_id)
        if question.status != Question.Status.UNDERSTOOD or question.text != text:
            return
        question.matches.all().delete()
        Match.objects.bulk_create(
            Match(
                question=question,
                entry_id=match.entry.id,
                rank=position,
                score=match.score,
                dense=match.dense,
                lexical=match.lexical,
                label=match.label,
            )
            for position, match in enumerate(ranked)
        )
        question.match_outcome = outcome(ranked)
        question.matched_at = timezone.now()
        fields = ["match_outcome", "matched_at"]
        if question.match_outcome == Question.MatchOutcome.NONE:
            question.status = Question.Status.WAITING_TEACHER
            fields.append("status")
        question.save(update_fields=fields)
        if question.status == Question.Status.WAITING_TEACHER:
            ticket_enqueue(question=question)
        question_status_event_send(question)
    logger.info("question.matched", extra={"question_id": question_id, "outcome": question.match_outcome})


def question_feedback(*, question: Question, choice: str, match_id: int | None = None) -> Question:
    """The student's verdict on the matches: solved (by which match) or still stuck."""
    if choice not in Feedback.Choice.values:
        raise ServiceError("invalid_choice", _("Unknown choice."), field="choice")
    with transaction.atomic():
        question = Question.objects.select_for_update().get(pk=question.pk)
        allowed = (
            Question.Status.UNDERSTOOD,
            Question.Status.RESOLVED,
            Question.Status.WAITING_TEACHER,
            Question.Status.CANCELLED,
        )
        if question.status not in allowed or not question.match_outcome:
            raise ServiceError("not_matched", _("This question has no answers to judge yet."), status=409)
        match = question.matches.filter(pk=match_id).first() if match_id is not None else None
        if match_id is not None and match is None:
            raise ServiceError("unknown_match", _("Unknown answer."), field="match_id")
        status = Question.Status.RESOLVED if choice == Feedback.Choice.RESOLVED else Question.Status.WAITING_TEACHER
        last = question.feedback.order_by("-created_at", "-id").first()
        if last is None or (last.choice, last.match_id) != (choice, match_id):  # a double tap stores one choice
            Feedback.objects.create(question=question, choice=choice, match=match)
        if question.status != status:
            question.status = status
            question.save(update_fields=["status"])
            if status == Question.Status.WAITING_TEACHER:
                ticket_enqueue(question=question)  # "still stuck": the live queue
            else:
                ticket_leave(question=question)  # solved after all: stop waiting
            question_status_event_send(question)
    logger.info("question.feedback", extra={"question_id": question.pk, "choice": choice})
    return question
