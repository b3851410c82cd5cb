"""Writes for the library of answered questions, and matching students' questions against it."""

import logging
import tempfile
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from matching.knowledge import Vocabulary, suggest
from matching.ranking import Candidate, candidates, outcome, rank
from matching.ranking import Match as RankedMatch
from media.errors import MediaProcessingError
from tutoring.accounts.models import User
from tutoring.core.errors import ServiceError
from tutoring.core.events import reply_channel_new, reply_receive
from tutoring.core.queueing import queue_on_commit, stalled_requeue
from tutoring.core.storage import stored_file_local_copy
from tutoring.core.uploads import (
    PHOTO,
    VIDEO,
    upload_check,
    upload_local_copy,
    upload_process,
    upload_recognise,
    upload_refusal,
    upload_store,
)
from tutoring.knowledge.models import KnowledgePoint, TagSource
from tutoring.knowledge.selectors import knowledge_point_resolve, knowledge_point_terms, knowledge_point_version
from tutoring.library import tasks
from tutoring.library.index import VECTOR_DTYPE, encoder, index_get, model_name
from tutoring.library.models import Answer, Entry, EntryKnowledgePoint, Feedback, Match
from tutoring.questions.lifecycle import question_lock, question_match_settle, question_transition
from tutoring.questions.models import Question, QuestionKnowledgePoint
from tutoring.questions.selectors import question_displayed_queryset
from tutoring.questions.services import question_knowledge_points_set, question_text_check, subject_and_grade_check
from tutoring.schools.models import Subject

logger = logging.getLogger(__name__)

MATCHES_SHOWN = 5
BACKFILL_CHUNK = 500
GRADE_REACH = 1  # a question is matched against answers of its grade and the grades next to it
# Work still pending this long after it was queued has lost its task (``library_stalled_requeue``): matching takes
# seconds, tagging an entry as long, a video's transcoding up to its time limit (about an hour).
MATCHING_GRACE = timedelta(minutes=2)
TAGGING_GRACE = timedelta(minutes=10)
TRANSCODING_GRACE = timedelta(hours=2)
REQUEUE_BATCH = 500


def _photo_read(photo: IO[bytes]) -> tuple[bytes, str]:
    """The photo sanitised (EXIF applied and stripped, downscaled) and the text OCR reads in it."""
    upload_check(photo, kinds={PHOTO}, field="photo")
    with tempfile.TemporaryDirectory(prefix="xuewen-library-") as scratch:
        directory = Path(scratch)
        try:
            processed = upload_process(
                upload_local_copy(photo, directory / "original"), kind=PHOTO, directory=directory
            )
            text = upload_recognise(processed, directory=directory).text
        except MediaProcessingError as error:
            raise upload_refusal(error, "photo") from error
    image, _content_type = processed.files["processed"]
    assert isinstance(image, bytes)
    return image, text


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
    question = _entry_question_check(text or photo_text, subject, grade, knowledge_points)
    solution = (solution or "").strip()
    if not solution and video is None and not (external_id and Entry.objects.filter(external_id=external_id).exists()):
        raise ServiceError("no_answer", _("Give a video or a worked solution."))
    video_type = upload_check(video, kinds={VIDEO}, field="video").content_type if video is not None else None

    written: list[str] = []  # stored files, deleted again if the transaction fails
    try:
        with transaction.atomic():
            if photo_image is not None:
                question["photo"] = upload_store(photo_image, folder="library/photos", content_type="image/jpeg")
                written.append(question["photo"])
            entry, created = _entry_written(
                external_id=external_id, created_by=created_by, source_question=source_question, **question
            )
            if solution:
                _solution_replace(entry, solution, created_by)
            if video is not None and video_type is not None:
                written.append(_video_answer_add(entry, video, video_type, created_by))
    except BaseException:
        for name in written:
            default_storage.delete(name)
        raise
    logger.info("library.entry_saved", extra={"entry_id": entry.pk, "entry_created": created})
    return entry, created


def _entry_question_check(text: str, subject: str, grade: Any, knowledge_points: Sequence[str]) -> dict[str, Any]:
    """An entry's question as the library keeps it: its text, subject, grade and knowledge points (each a code,
    name or alias of the subject's taxonomy), checked."""
    text = question_text_check(text)
    subject_row, grade_number = subject_and_grade_check(subject=subject, grade=grade)
    points = knowledge_point_resolve(subject=subject_row, labels=knowledge_points)
    return {"text": text, "subject": subject_row, "grade": grade_number, "knowledge_points": points}


def _entry_written(
    *,
    external_id: str | None,
    created_by: User | None,
    source_question: Question | None,
    knowledge_points: Sequence[KnowledgePoint],
    **question: Any,
) -> tuple[Entry, bool]:
    """The entry with this ``external_id`` (locked), or a new one, holding ``question`` (its text, subject and
    grade) and active, with these knowledge points (given by its author, or an import without one); an entry given
    none is tagged by the tagger once written. A changed text drops the stored embedding."""
    entry = Entry.objects.select_for_update().filter(external_id=external_id).first() if external_id else None
    created = entry is None
    entry = entry or Entry(external_id=external_id, created_by=created_by, source_question=source_question)
    if entry.text != question["text"]:
        entry.vector_forget()
    for field, value in question.items():
        setattr(entry, field, value)
    entry.status = Entry.Status.ACTIVE
    if not knowledge_points:
        entry.tagged_at = None  # until the tagger has run
    entry.save()
    entry.knowledge_point_tags.all().delete()
    source = TagSource.TEACHER if created_by is not None else TagSource.IMPORT
    EntryKnowledgePoint.objects.bulk_create(
        EntryKnowledgePoint(entry=entry, point=point, source=source, rank=number)
        for number, point in enumerate(knowledge_points)
    )
    if not knowledge_points:
        queue_on_commit(
            lambda: tasks.entry_knowledge_points_tag.delay(entry.pk), what=f"entry_knowledge_points_tag.{entry.pk}"
        )
    return entry, created


def _solution_replace(entry: Entry, solution: str, created_by: User | None) -> None:
    entry.answers.filter(kind=Answer.Kind.SOLUTION).delete()
    Answer.objects.create(
        entry=entry, kind=Answer.Kind.SOLUTION, status=Answer.Status.READY, solution=solution, created_by=created_by
    )


def _video_answer_add(entry: Entry, video: IO[bytes], content_type: str, created_by: User | None) -> str:
    """The video as uploaded, transcoded for phones by a ``media`` task; returns its stored name."""
    original = upload_store(video, folder="library/uploads", content_type=content_type)
    answer = Answer.objects.create(
        entry=entry, kind=Answer.Kind.VIDEO, status=Answer.Status.PROCESSING, original=original, created_by=created_by
    )
    queue_on_commit(lambda: tasks.answer_video_process.delay(answer.pk), what=f"answer_video_process.{answer.pk}")
    return original


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
    source_question: Question | None,
) -> Entry:
    """A video made for phones by the platform itself (a session's or a lecture's recording, already stored with
    its poster) answers the entry with this ``external_id``: created the first time, its question updated after.
    The index picks the entry up at its next catch-up."""
    question = _entry_question_check(text, subject, grade, knowledge_points)
    with transaction.atomic():
        entry, _created = _entry_written(
            external_id=external_id, created_by=created_by, source_question=source_question, **question
        )
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
    with tempfile.TemporaryDirectory(prefix="xuewen-video-") as scratch:
        directory = Path(scratch)
        try:
            processed = upload_process(
                stored_file_local_copy(answer.original, directory), kind=VIDEO, directory=directory
            )
        except MediaProcessingError as error:
            logger.warning("library.video_failed", extra={"answer_id": answer_id, "reason": error.code})
            Answer.objects.filter(pk=answer_id).update(status=Answer.Status.FAILED, error=str(error.message))
            return
        (video, _video_type), (poster, _poster_type) = processed.files["processed"], processed.files["poster"]
        names = [
            upload_store(video, folder="library/videos", content_type="video/mp4"),
            upload_store(poster, folder="library/posters", content_type="image/jpeg"),
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
            if original:
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


def _library_candidates(
    *, text: str, subject: Subject, grade: int, exclude: int | None = None, vector: np.ndarray | None = None
) -> list[Candidate]:
    """The answered questions of the subject and nearby grades that the dense or the lexical index finds for a
    text (encoded here unless its vector is given), with both scores: what matching ranks and the tagger's
    neighbours."""
    if vector is None:
        vector = encoder().encode([text])[0]
    grades = (grade - GRADE_REACH, grade + GRADE_REACH)
    return candidates(text, vector, subject=subject.code, grades=grades, store=index_get(), exclude=exclude)


def library_search(*, text: str, subject: Subject, grade: int, limit: int = MATCHES_SHOWN) -> list[RankedMatch]:
    """Same or similar answered questions for a text, best first; [] when none fits."""
    return rank(text, _library_candidates(text=text, subject=subject, grade=grade), limit=limit)


_vocabularies: dict[int, tuple[tuple[int, str], Vocabulary]] = {}


def _vocabulary(subject: Subject) -> Vocabulary:
    """The subject's taxonomy as the tagger reads it, compiled once per process and again when it changes."""
    version = knowledge_point_version(subject=subject)
    cached = _vocabularies.get(subject.pk)
    if cached is None or cached[0] != version:
        cached = _vocabularies[subject.pk] = (version, Vocabulary(knowledge_point_terms(subject=subject)))
    return cached[1]


def knowledge_points_suggest(
    *, text: str, subject: Subject, grade: int, found: Sequence[Candidate]
) -> list[tuple[KnowledgePoint, float]]:
    """The likeliest knowledge points of a text, with their confidence: the votes of the answered questions found
    for it that a teacher or an import labelled, and the taxonomy's words in it (``matching.knowledge``)."""
    labelled = EntryKnowledgePoint.objects.filter(
        entry_id__in=[candidate.entry.id for candidate in found],
        source__in=(TagSource.TEACHER, TagSource.IMPORT),
        point__is_active=True,
    ).values_list("entry_id", "point__code")
    labels: dict[int, list[str]] = {}
    for entry_id, code in labelled:
        labels.setdefault(entry_id, []).append(code)
    neighbours = [(candidate.dense, labels[candidate.entry.id]) for candidate in found if candidate.entry.id in labels]
    suggestions = suggest(text, grade=grade, neighbours=neighbours, vocabulary=_vocabulary(subject))
    codes = [suggestion.code for suggestion in suggestions]
    points = {point.code: point for point in KnowledgePoint.objects.filter(subject=subject, code__in=codes)}
    return [(points[s.code], s.confidence) for s in suggestions if s.code in points]


def entry_knowledge_points_tag(*, entry_id: int) -> bool:
    """Tag an active entry that was given no knowledge point (neither by its author nor by its import) with the
    tagger's, from its neighbours in the library (itself left out). Returns whether it was tagged."""
    entry = Entry.objects.select_related("subject").filter(pk=entry_id, status=Entry.Status.ACTIVE).first()
    if entry is None:
        return False
    found = _library_candidates(text=entry.text, subject=entry.subject, grade=entry.grade, exclude=entry.pk)
    suggestions = knowledge_points_suggest(text=entry.text, subject=entry.subject, grade=entry.grade, found=found)
    with transaction.atomic():
        entry = Entry.objects.select_for_update().get(pk=entry_id)
        tags = EntryKnowledgePoint.objects.filter(entry=entry)
        if tags.exclude(source=TagSource.TAGGER).exists():
            return False  # its author gave points meanwhile
        tags.delete()
        EntryKnowledgePoint.objects.bulk_create(
            EntryKnowledgePoint(entry=entry, point=point, source=TagSource.TAGGER, confidence=confidence, rank=number)
            for number, (point, confidence) in enumerate(suggestions)
        )
        # QuerySet.update leaves updated_at alone: the index has nothing new to read.
        Entry.objects.filter(pk=entry_id).update(tagged_at=timezone.now())
    logger.info("library.entry_tagged", extra={"entry_id": entry_id, "points": len(suggestions)})
    return True


def questions_to_tag(*, retag: bool = False) -> QuerySet[Question]:
    """Matched questions with no knowledge point (with ``retag``: none but the tagger's)."""
    questions = Question.objects.exclude(match_outcome=Question.MatchOutcome.PENDING).exclude(text="")
    chosen = QuestionKnowledgePoint.objects.filter(question=OuterRef("pk"))
    if retag:
        chosen = chosen.exclude(source=TagSource.TAGGER)
    return questions.exclude(Exists(chosen))


def entries_to_tag(*, retag: bool = False) -> QuerySet[Entry]:
    """Active entries with no knowledge point (with ``retag``: none but the tagger's)."""
    chosen = EntryKnowledgePoint.objects.filter(entry=OuterRef("pk"))
    if retag:
        chosen = chosen.exclude(source=TagSource.TAGGER)
    return Entry.objects.filter(status=Entry.Status.ACTIVE).exclude(Exists(chosen))


def knowledge_points_backfill(
    *, retag: bool = False, progress: Callable[[int], object] | None = None
) -> tuple[int, int]:
    """Tag what was matched or saved before its subject had a taxonomy (or, with ``retag``, tag again with what
    the tagger knows now: a teacher's or an import's points are never touched). Returns (questions, entries)."""
    questions = entries = 0
    for question in questions_to_tag(retag=retag).select_related("subject").iterator(chunk_size=BACKFILL_CHUNK):
        found = _library_candidates(text=question.text, subject=question.subject, grade=question.grade)
        points = knowledge_points_suggest(
            text=question.text, subject=question.subject, grade=question.grade, found=found
        )
        questions += question_knowledge_points_set(question=question, points=points, source=TagSource.TAGGER)
        if progress is not None:
            progress(1)
    for entry_id in entries_to_tag(retag=retag).values_list("pk", flat=True).iterator(chunk_size=BACKFILL_CHUNK):
        entries += entry_knowledge_points_tag(entry_id=entry_id)
        if progress is not None:
            progress(1)
    logger.info("knowledge.backfilled", extra={"questions": questions, "entries": entries})
    return questions, entries


def library_stalled_requeue() -> dict[str, int]:
    """Queue again the work of the library whose task was lost, the oldest first: matching for questions
    understood but still unmatched after MATCHING_GRACE, the tagger for entries given no knowledge point and
    still untagged after TAGGING_GRACE, transcoding for videos still processing after TRANSCODING_GRACE. Returns
    how many of each were queued."""
    now = timezone.now()
    unmatched = Question.objects.filter(
        status=Question.Status.UNDERSTOOD,
        match_outcome=Question.MatchOutcome.PENDING,
        understood_at__lt=now - MATCHING_GRACE,
    ).order_by("understood_at")
    untagged = (
        entries_to_tag().filter(tagged_at__isnull=True, updated_at__lt=now - TAGGING_GRACE).order_by("updated_at")
    )
    transcoding = Answer.objects.filter(
        kind=Answer.Kind.VIDEO, status=Answer.Status.PROCESSING, created_at__lt=now - TRANSCODING_GRACE
    ).order_by("created_at")
    return {
        "matches": stalled_requeue(
            tasks.question_match, unmatched.values_list("pk", flat=True)[:REQUEUE_BATCH], grace=MATCHING_GRACE
        ),
        "tags": stalled_requeue(
            tasks.entry_knowledge_points_tag, untagged.values_list("pk", flat=True)[:REQUEUE_BATCH], grace=TAGGING_GRACE
        ),
        "videos": stalled_requeue(
            tasks.answer_video_process,
            transcoding.values_list("pk", flat=True)[:REQUEUE_BATCH],
            grace=TRANSCODING_GRACE,
        ),
    }


def library_search_result(*, text: str, subject: str, grade: Any) -> dict[str, Any]:
    """Checked input, searched: the outcome and the matches as JSON, for operators' tools and the API."""
    text = question_text_check(text)
    subject_row, grade_number = subject_and_grade_check(subject=subject, grade=grade)
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


def library_search_check(*, text: str, subject: str, grade: Any) -> None:
    """The query a search would refuse, refused before a worker is asked."""
    question_text_check(text)
    subject_and_grade_check(subject=subject, grade=grade)


async def library_search_through_worker(*, text: str, subject: str, grade: int) -> dict[str, Any]:
    """``library_search_result`` from a matching worker (web processes never load the index or the encoder),
    awaited on the channel layer without holding a thread; 503 when no worker answers in MATCH_WAIT_SECONDS."""
    wait = settings.XUEWEN["MATCH_WAIT_SECONDS"]
    channel = await reply_channel_new()
    publish = sync_to_async(tasks.library_search.apply_async, thread_sensitive=False)
    await publish((text, subject, grade, channel), expires=wait)  # a search nobody waits for any more is dropped
    reply = await reply_receive(channel, timeout=wait)
    if reply is None:
        raise ServiceError("matching_unavailable", _("Matching is busy; try again shortly."), status=503)
    result: dict[str, Any] = reply["result"]
    return result


def question_understood(question: Question) -> None:
    """Listens to every move of a question (``question_status_listen``): one understood, first or again after the
    student corrected its text, is matched. The matches of an earlier wording go at once, in the move's
    transaction, so until the new result arrives the question shows as being matched. Only unjudged matches ever
    go: a student's verdict moves the question on from "understood", and ``Feedback.match`` refuses to lose a
    judged one."""
    if question.status != Question.Status.UNDERSTOOD:
        return
    question.matches.all().delete()
    queue_on_commit(lambda: tasks.question_match.delay(question.pk), what=f"question_match.{question.pk}")


def question_match(*, question_id: int) -> None:
    """Match an understood question against the library, store the result and tell the student; tag it with the
    knowledge points its labelled neighbours and its words suggest.

    With no fitting answer the question waits for a live teacher. Idempotent: a question matched already (and
    not corrected since) is left as it is, so a requeued task never replaces the matches the student sees. A
    result for a text the student has corrected since is dropped: the correction queued another match.
    """
    question = Question.objects.select_related("subject").filter(pk=question_id).first()
    if question is None or question.status != Question.Status.UNDERSTOOD or question.match_outcome:
        return
    text = question.text
    vector = encoder().encode([text])[0]
    found = _library_candidates(text=text, subject=question.subject, grade=question.grade, vector=vector)
    ranked = rank(text, found, limit=MATCHES_SHOWN)
    points = knowledge_points_suggest(text=text, subject=question.subject, grade=question.grade, found=found)
    with transaction.atomic():
        question = question_lock(question_id)
        if question.status != Question.Status.UNDERSTOOD or question.match_outcome or question.text != text:
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
        question_match_settle(question=question, outcome=outcome(ranked))
        question_knowledge_points_set(question=question, points=points, source=TagSource.TAGGER)
        Question.objects.filter(pk=question_id).update(
            vector=vector.astype(VECTOR_DTYPE).tobytes(), vector_model=model_name()
        )
    logger.info("question.matched", extra={"question_id": question_id, "outcome": question.match_outcome})


_JUDGED = (
    Question.Status.UNDERSTOOD,
    Question.Status.RESOLVED,
    Question.Status.WAITING_TEACHER,
    Question.Status.CANCELLED,
)


def question_feedback(*, question: Question, choice: str, match_id: int | None = None) -> Question:
    """The student's verdict on the matches: solved (by which match) or still stuck. "Still stuck" sends the
    question to a live teacher; "solved" takes it out of the queue (routing follows the question's move).
    Returns the question as its viewers now see it (with everything its serializer shows)."""
    if choice not in Feedback.Choice.values:
        raise ServiceError("invalid_choice", _("Unknown choice."), field="choice")
    with transaction.atomic():
        question = question_lock(question.pk)
        if question.status not in _JUDGED or not question.match_outcome:
            raise ServiceError("not_matched", _("This question has no answers to judge yet."), status=409)
        match = question.matches.filter(pk=match_id).first() if match_id is not None else None
        if match_id is not None and match is None:
            raise ServiceError("unknown_match", _("Unknown answer."), field="match_id")
        last = question.feedback.order_by("-created_at", "-id").first()
        if last is None or (last.choice, last.match_id) != (choice, match_id):  # a double tap stores one choice
            Feedback.objects.create(question=question, choice=choice, match=match)
        status = Question.Status.RESOLVED if choice == Feedback.Choice.RESOLVED else Question.Status.WAITING_TEACHER
        if question.status != status:
            shown = question_transition(question=question, to=status)
        else:  # a double tap
            shown = question_displayed_queryset().get(pk=question.pk)
    logger.info("question.feedback", extra={"question_id": question.pk, "choice": choice})
    return shown
