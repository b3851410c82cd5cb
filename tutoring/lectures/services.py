"""Lectures: scheduling, sign-ups, the live state and its log, the replay. Services write; the studio's socket
stores the board events here (checked by board protocol v1, ``tutoring.sessions.protocol``) before they are
broadcast."""

import logging
import tempfile
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from media.errors import MediaProcessingError
from media.photos import photo_process
from media.slides import pdf_pages_render
from media.uploads import extension_for
from tutoring.accounts.models import User
from tutoring.core.errors import ServiceError
from tutoring.core.storage import stored_file_local_copy
from tutoring.core.uploads import PDF, PHOTO, CheckedUpload, upload_check, upload_store
from tutoring.lectures import events, selectors
from tutoring.lectures.models import (
    Lecture,
    LectureAudioChunk,
    LectureConnection,
    LectureEvent,
    LectureFact,
    LectureRecording,
    LectureSignup,
    LectureSlide,
    LectureSlideDeck,
)
from tutoring.library.models import Entry
from tutoring.library.services import entry_video_publish
from tutoring.sessions.protocol import DRAWING, ProtocolError, message_check
from tutoring.sessions.selectors import ms_since_start
from tutoring.sessions.services import StoredVideo, board_video_store

logger = logging.getLogger(__name__)

# What the studio may write to the log: the board (its student permissions have no meaning in a lecture); a
# page's background is one of the lecture's slides (``LectureSlide``).
BOARD_TYPES = DRAWING | {"board.page", "board.laser", "board.background"}
SLIDE_SIDE = 1600  # pixels, the longer side of a slide: the board's height


def _fact(kind: str, lecture: Lecture, *, user_id: int | None = None, at: datetime | None = None, **data: Any) -> None:
    LectureFact.objects.create(kind=kind, lecture=lecture, user_id=user_id, at=at or timezone.now(), data=data)


def _signed_up(lecture: Lecture) -> list[int]:
    return list(lecture.signups.values_list("student_id", flat=True))


# --- Scheduling -------------------------------------------------------------------------------


def lecture_check(lecture: Lecture) -> None:
    """The rules of a lecture, for whoever schedules one (the admin, an API): a lecturer who may lecture, a
    subject taught in its grade band, a district in its city and a school in its district."""
    if not selectors.lecturer_may(lecture.lecturer):
        raise ServiceError("not_a_lecturer", _("This teacher may not give lectures."), field="lecturer")
    band, subject = lecture.grade_band, lecture.subject
    if subject.min_grade > band.max_grade or subject.max_grade < band.min_grade:
        raise ServiceError(
            "unknown_grade",
            _("%(subject)s is not taught in these grades.") % {"subject": subject.name},
            field="grade_band",
        )
    if lecture.district is not None and lecture.district.city_id != lecture.city_id:
        raise ServiceError("district_not_in_city", _("The district is not in this city."), field="district")
    if lecture.school is not None and (lecture.district is None or lecture.school.district_id != lecture.district_id):
        raise ServiceError("school_not_in_district", _("Choose the school's district too."), field="school")


def lecture_save(*, lecture: Lecture, created_by: User | None = None) -> Lecture:
    """Schedule a lecture, or change one not yet ended. A new start time tells the students who signed up."""
    lecture_check(lecture)
    with transaction.atomic():
        before = Lecture.objects.select_for_update().filter(pk=lecture.pk).first() if lecture.pk else None
        if before is not None and before.status in (Lecture.Status.ENDED, Lecture.Status.CANCELLED):
            raise ServiceError("lecture_over", _("This lecture is over and can no longer be changed."), status=409)
        if before is None:
            lecture.created_by = created_by
        lecture.save()
        if before is None:
            _fact(
                LectureFact.Kind.SCHEDULED,
                lecture,
                user_id=created_by.pk if created_by else None,
                starts_at=lecture.starts_at.isoformat(),
            )
        elif before.starts_at != lecture.starts_at:
            _fact(
                LectureFact.Kind.MOVED,
                lecture,
                user_id=created_by.pk if created_by else None,
                starts_at=lecture.starts_at.isoformat(),
                was=before.starts_at.isoformat(),
            )
            events.lecture_notice_send(lecture, _signed_up(lecture), "moved")
    logger.info("lecture.saved", extra={"lecture_id": lecture.pk})
    return lecture


def lecture_cancel(*, lecture_id: int, by: User) -> Lecture:
    with transaction.atomic():
        lecture = Lecture.objects.select_for_update().get(pk=lecture_id)
        if lecture.status != Lecture.Status.SCHEDULED:
            raise ServiceError("not_scheduled", _("Only a lecture that has not started can be cancelled."), status=409)
        lecture.status = Lecture.Status.CANCELLED
        lecture.save(update_fields=["status"])
        _fact(LectureFact.Kind.CANCELLED, lecture, user_id=by.pk)
        events.lecture_notice_send(lecture, _signed_up(lecture), "cancelled")
    return lecture


def _student_only(user: User) -> None:
    if not user.is_student:
        raise ServiceError("not_a_student", _("Only students sign up for lectures."), status=403)


def lecture_signup(*, lecture: Lecture, student: User) -> LectureSignup:
    """预约: idempotent; only a student the lecture is for, before it ends."""
    _student_only(student)
    if lecture.status in (Lecture.Status.ENDED, Lecture.Status.CANCELLED):
        raise ServiceError("lecture_over", _("This lecture is over."), status=409)
    with transaction.atomic():
        signup, created = LectureSignup.objects.get_or_create(lecture=lecture, student=student)
        if created:
            _fact(LectureFact.Kind.SIGNED_UP, lecture, user_id=student.pk)
    return signup


def lecture_signup_withdraw(*, lecture: Lecture, student: User) -> None:
    _student_only(student)
    with transaction.atomic():
        if LectureSignup.objects.filter(lecture=lecture, student=student).delete()[0]:
            _fact(LectureFact.Kind.SIGNUP_WITHDRAWN, lecture, user_id=student.pk)


# --- Slides -----------------------------------------------------------------------------------


def lecture_slides_check(*, lecture: Lecture, user: User, files: Sequence[IO[bytes]]) -> list[CheckedUpload]:
    """Slides for ``lecture`` from its lecturer or an administrator, checked by their content before anything is
    stored: one PDF of at most MAX_SLIDES pages, or at most MAX_SLIDES pictures (each checked like a question's
    photo), MAX_SLIDES_BYTES in all; only before the lecture starts. Refusals name the field "slides"."""
    if not selectors.lecture_slides_editor(lecture, user):
        raise ServiceError("unknown_lecture", _("Unknown lecture."), status=404)
    if lecture.status != Lecture.Status.SCHEDULED:
        raise ServiceError(
            "lecture_started", _("Slides can only be changed before the lecture starts."), status=409, field="slides"
        )
    limits = settings.XUEWEN
    if not files:
        raise ServiceError("no_slides", _("Choose a PDF or pictures."), field="slides")
    if len(files) > limits["MAX_SLIDES"]:
        message = _("At most %(limit)s slides.") % {"limit": limits["MAX_SLIDES"]}
        raise ServiceError("too_many_pages", message, field="slides")
    checked = [upload_check(file, kinds={PHOTO, PDF}, field="slides") for file in files]
    if len(checked) > 1 and any(upload.kind == PDF for upload in checked):
        raise ServiceError("mixed_slides", _("Upload one PDF, or pictures only."), field="slides")
    if sum(file.seek(0, 2) for file in files) > limits["MAX_SLIDES_BYTES"]:
        message = _("The slides are larger than %(limit)s MB in all.") % {
            "limit": f"{limits['MAX_SLIDES_BYTES'] / 1024 / 1024:.3g}"
        }
        raise ServiceError("too_large", message, status=413, field="slides")
    for file in files:
        file.seek(0)
    return checked


def lecture_slides_upload(*, lecture: Lecture, user: User, files: Sequence[IO[bytes]]) -> LectureSlideDeck:
    """The lecture's slides (checked by ``lecture_slides_check``), stored as uploaded and queued for rendering
    into pages; they replace any slides before. Nothing is stored when a check refuses them."""
    checked = lecture_slides_check(lecture=lecture, user=user, files=files)
    folder = f"lectures/{lecture.pk}/slides/uploads"
    names = [
        upload_store(file, folder=folder, content_type=upload.content_type)
        for file, upload in zip(files, checked, strict=True)
    ]
    try:
        with transaction.atomic():
            locked = Lecture.objects.select_for_update().get(pk=lecture.pk)
            if locked.status != Lecture.Status.SCHEDULED:
                raise ServiceError(
                    "lecture_started",
                    _("Slides can only be changed before the lecture starts."),
                    status=409,
                    field="slides",
                )
            deck, _created = LectureSlideDeck.objects.select_for_update().get_or_create(lecture=locked)
            _files_delete_on_commit([*deck.uploads, *_slides_files(locked.slides.filter(number__isnull=False))])
            locked.slides.filter(number__isnull=False).delete()
            deck.status, deck.uploads, deck.error = LectureSlideDeck.Status.PENDING, names, ""
            deck.uploaded_by, deck.uploaded_at, deck.rendered_at = user, timezone.now(), None
            deck.save()
            from tutoring.lectures import tasks

            tasks.lecture_slides_render.delay_on_commit(deck.pk)  # type: ignore[attr-defined]  # celery-types lacks delay_on_commit
    except ServiceError:
        for name in names:
            default_storage.delete(name)
        raise
    logger.info("lecture.slides_uploaded", extra={"lecture_id": lecture.pk, "files": len(names)})
    return deck


def _slides_files(slides: Any) -> list[str]:
    return [name for slide in slides for name in (slide.image.name, slide.thumbnail.name)]


def _files_delete_on_commit(names: Sequence[str]) -> None:
    def delete() -> None:
        for name in names:
            default_storage.delete(name)

    transaction.on_commit(delete)


def lecture_slides_render(*, deck_id: int) -> None:
    """Render the uploaded slides into pages: each PDF page or picture upright, flattened on white, at most
    SLIDE_SIDE pixels a side, stripped of metadata, as a JPEG with a thumbnail; then the uploads are deleted.
    Runs once per upload (a newer upload meanwhile discards this render); a file that cannot be rendered leaves
    the slides failed with the reason, for the lecturer to upload again."""
    claimed = LectureSlideDeck.objects.filter(pk=deck_id, status=LectureSlideDeck.Status.PENDING).update(
        status=LectureSlideDeck.Status.RENDERING
    )
    if not claimed:
        return
    deck = LectureSlideDeck.objects.get(pk=deck_id)
    pages: list[dict[str, Any]] = []
    error = ""
    try:
        with tempfile.TemporaryDirectory(prefix="xuewen-slides-") as scratch:
            directory = Path(scratch)
            for upload in deck.uploads:
                source = stored_file_local_copy(upload, directory)
                is_pdf = source.suffix == extension_for("application/pdf")
                pictures = pdf_pages_render(source, directory, long_side=SLIDE_SIDE) if is_pdf else [source]
                pages += [_slide_store(picture, folder=f"lectures/{deck.lecture_id}/slides") for picture in pictures]
    except MediaProcessingError as failure:
        error = str(failure.message)
        logger.warning("lecture.slides_failed", extra={"deck_id": deck_id, "reason": failure.code})
    made = [name for page in pages for name in (page["image"], page["thumbnail"])]
    with transaction.atomic():
        current = LectureSlideDeck.objects.select_for_update().get(pk=deck_id)
        if current.uploads != deck.uploads:  # replaced while this ran
            _files_delete_on_commit(made)
            return
        if error:
            _files_delete_on_commit(made)
            current.status, current.error = LectureSlideDeck.Status.FAILED, error
        else:
            LectureSlide.objects.bulk_create(
                LectureSlide(lecture_id=deck.lecture_id, number=number, **page) for number, page in enumerate(pages, 1)
            )
            current.status, current.rendered_at = LectureSlideDeck.Status.READY, timezone.now()
        current.uploads = []
        current.save(update_fields=["status", "error", "uploads", "rendered_at"])
        _files_delete_on_commit(deck.uploads)
    logger.info("lecture.slides_rendered", extra={"deck_id": deck_id, "pages": len(pages), "failed": bool(error)})


def lecture_entry_photos_sync(*, lecture: Lecture) -> None:
    """The photos of the library questions the lecture covers, as slides it may show: one for each covered
    question with a photo. Before the lecture starts, those of questions it no longer covers go; after, they stay
    (its log may place them)."""
    with transaction.atomic():
        locked = Lecture.objects.select_for_update().get(pk=lecture.pk)
        covered = {entry.pk: entry for entry in locked.entries.exclude(photo="").order_by("id")}
        photos = locked.slides.filter(entry__isnull=False)
        if locked.status == Lecture.Status.SCHEDULED:
            gone = photos.exclude(entry_id__in=covered)
            _files_delete_on_commit(_slides_files(gone))
            gone.delete()
        shown = set(photos.values_list("entry_id", flat=True))
        with tempfile.TemporaryDirectory(prefix="xuewen-slides-") as scratch:
            for entry_id, entry in covered.items():
                if entry_id not in shown:
                    picture = stored_file_local_copy(entry.photo, scratch)
                    LectureSlide.objects.create(
                        lecture=locked, entry=entry, **_slide_store(picture, folder=f"lectures/{lecture.pk}/slides")
                    )


def _slide_store(picture: Path, *, folder: str) -> dict[str, Any]:
    """A picture as a slide: processed like a question's photo (upright, on white, no metadata), stored."""
    processed = photo_process(picture, max_side=SLIDE_SIDE)
    return {
        "image": upload_store(processed.image, folder=folder, content_type="image/jpeg"),
        "thumbnail": upload_store(processed.thumbnail, folder=folder, content_type="image/jpeg"),
        "width": processed.width,
        "height": processed.height,
    }


# --- Live -------------------------------------------------------------------------------------


def _lecture_moving(lecturer: User, lecture_id: int, *, status: str, refusal: ServiceError) -> Lecture:
    """The lecturer's lecture, locked, if it is in ``status`` (else ``refusal``); 404 for anyone else's."""
    lecture = Lecture.objects.select_for_update().filter(pk=lecture_id, lecturer=lecturer).first()
    if lecture is None:
        raise ServiceError("unknown_lecture", _("Unknown lecture."), status=404)
    if lecture.status != status:
        raise refusal
    return lecture


def lecture_start(*, lecturer: User, lecture_id: int) -> Lecture:
    """The lecturer goes live (from the studio): the students who signed up are told."""
    with transaction.atomic():
        refusal = ServiceError("not_scheduled", _("This lecture has already started or is over."), status=409)
        lecture = _lecture_moving(lecturer, lecture_id, status=Lecture.Status.SCHEDULED, refusal=refusal)
        lecture.status, lecture.started_at = Lecture.Status.LIVE, timezone.now()
        lecture.save(update_fields=["status", "started_at"])
        _fact(LectureFact.Kind.STARTED, lecture, user_id=lecturer.pk, at=lecture.started_at)
        events.lecture_status_send(lecture)
        events.lecture_notice_send(lecture, _signed_up(lecture), "started")
    return lecture


def lecture_end(*, lecturer: User, lecture_id: int) -> Lecture:
    """The lecturer ends the lecture: its recording is queued for rendering."""
    with transaction.atomic():
        refusal = ServiceError("not_live", _("This lecture is not live."), status=409)
        lecture = _lecture_moving(lecturer, lecture_id, status=Lecture.Status.LIVE, refusal=refusal)
        lecture.status, lecture.ended_at = Lecture.Status.ENDED, timezone.now()
        lecture.save(update_fields=["status", "ended_at"])
        assert lecture.started_at is not None  # live lectures have started
        _fact(
            LectureFact.Kind.ENDED,
            lecture,
            user_id=lecturer.pk,
            at=lecture.ended_at,
            duration_seconds=round((lecture.ended_at - lecture.started_at).total_seconds(), 3),
            events=lecture.last_seq,
        )
        recording = LectureRecording.objects.create(lecture=lecture)
        from tutoring.lectures import tasks

        tasks.lecture_recording_render.delay_on_commit(recording.pk)  # type: ignore[attr-defined]  # celery-types lacks delay_on_commit
        events.lecture_status_send(lecture)
    return lecture


def lecture_events_append(
    *, lecture_id: int, contents: Sequence[dict[str, Any]]
) -> list[dict[str, Any] | ServiceError]:
    """The studio's board messages, each checked by board protocol v1 and numbered after the log's last, stored
    in one transaction; returns each message's stored event or its error, in order. Nothing is stored unless
    the lecture is live."""
    outcomes: list[dict[str, Any] | ServiceError] = []
    checked: list[tuple[int, str, dict[str, Any]]] = []
    for index, content in enumerate(contents):
        try:
            kind, data = message_check(content, role="teacher")
            if kind not in BOARD_TYPES:
                raise ProtocolError("not_allowed", "Not a lecture's board message.")
        except ProtocolError as error:
            outcomes.append(ServiceError(error.code, error.message))
            continue
        placed = data["attachment"] if kind == "board.background" else None
        if placed is not None and not LectureSlide.objects.filter(pk=placed, lecture_id=lecture_id).exists():
            outcomes.append(ServiceError("unknown_slide", _("Only this lecture's slides can be placed.")))
            continue
        outcomes.append({})
        checked.append((index, kind, data))
    if not checked:
        return outcomes
    with transaction.atomic():
        lecture = Lecture.objects.select_for_update().get(pk=lecture_id)
        if lecture.status != Lecture.Status.LIVE:
            refused = ServiceError("not_live", _("This lecture is not live."), status=409)
            return [refused if isinstance(outcome, dict) else outcome for outcome in outcomes]
        assert lecture.started_at is not None  # live lectures have started
        at_ms = ms_since_start(lecture.started_at, timezone.now())
        rows = []
        for index, kind, data in checked:
            lecture.last_seq += 1
            row = LectureEvent(lecture=lecture, seq=lecture.last_seq, at_ms=at_ms, type=kind, data=data)
            rows.append(row)
            outcomes[index] = row.as_event()
        LectureEvent.objects.bulk_create(rows)
        lecture.save(update_fields=["last_seq"])
    return outcomes


def lecture_join(*, lecture: Lecture, user: User, channel_name: str) -> str:
    """A socket entered the lecture; returns the user's role. A student's first socket is a "joined" fact."""
    role = selectors.lecture_role(lecture, user)
    with transaction.atomic():
        first = not LectureConnection.objects.filter(lecture=lecture, user=user, left_at__isnull=True).exists()
        LectureConnection.objects.create(lecture=lecture, user=user, role=role, channel_name=channel_name)
        if first:
            _fact(LectureFact.Kind.JOINED, lecture, user_id=user.pk, role=role)
    return role


def lecture_leave(*, channel_name: str, at: datetime | None = None) -> None:
    """A socket left; a user's last socket is a "left" fact with the seconds since their first open one."""
    now = at or timezone.now()
    with transaction.atomic():
        connection = (
            LectureConnection.objects.select_for_update()
            .filter(channel_name=channel_name, left_at__isnull=True)
            .first()
        )
        if connection is None:
            return
        connection.left_at = now
        connection.save(update_fields=["left_at"])
        still = LectureConnection.objects.filter(
            lecture_id=connection.lecture_id, user_id=connection.user_id, left_at__isnull=True
        )
        if not still.exists():
            joined = LectureFact.objects.filter(
                lecture_id=connection.lecture_id, user_id=connection.user_id, kind=LectureFact.Kind.JOINED
            ).latest("at", "id")
            _fact(
                LectureFact.Kind.LEFT,
                connection.lecture,
                user_id=connection.user_id,
                at=now,
                role=connection.role,
                seconds=round((now - joined.at).total_seconds(), 3),
            )


def lecture_audio_save(*, lecture_id: int, started_ms: int, pcm: bytes) -> LectureAudioChunk:
    """A few seconds of the lecturer's voice, as received (PCM s16le, 16 kHz, mono)."""
    name = default_storage.save(
        f"lectures/{lecture_id}/audio/{started_ms:09d}-{uuid.uuid4().hex[:8]}.pcm", ContentFile(pcm)
    )
    return LectureAudioChunk.objects.create(
        lecture_id=lecture_id, started_ms=started_ms, samples=len(pcm) // 2, file=name
    )


def lecture_recording_render(*, recording_id: int) -> None:
    """Render the lecture's log and the lecturer's voice into an MP4 with a poster and chapters at its page
    changes, then publish it. Runs once per recording (a rendered one is left alone); a failure is recorded and
    retried by the task; the log and the voice are never deleted."""
    claimed = LectureRecording.objects.filter(
        pk=recording_id, status__in=(LectureRecording.Status.PENDING, LectureRecording.Status.FAILED)
    ).update(status=LectureRecording.Status.RENDERING, attempts=F("attempts") + 1)
    if not claimed:
        return
    lecture = Lecture.objects.get(recording=recording_id)
    replay = selectors.lecture_replay(lecture)
    try:
        stored = board_video_store(
            events=replay["events"],
            duration_ms=replay["duration_ms"],
            voices={"lecturer": [(chunk.started_ms, chunk.file) for chunk in lecture.audio_chunks.all()]},
            backgrounds={slide.pk: slide.image for slide in selectors.lecture_slides_placed(lecture, replay["events"])},
            folder=f"lectures/{lecture.pk}/recording",
        )
    except MediaProcessingError as error:
        LectureRecording.objects.filter(pk=recording_id).update(
            status=LectureRecording.Status.FAILED, error=str(error.message)
        )
        logger.error("lecture.recording_failed", extra={"recording_id": recording_id, "reason": error.code})
        raise
    with transaction.atomic():
        recording = LectureRecording.objects.select_for_update().get(pk=recording_id)
        recording.video, recording.poster = stored.video, stored.poster
        recording.duration_seconds, recording.size_bytes = stored.duration_seconds, stored.size_bytes
        recording.chapters = selectors.lecture_chapters(replay["events"])
        recording.status, recording.error = LectureRecording.Status.PUBLISHED, ""
        recording.rendered_at = timezone.now()
        recording.save()
        entry_ids = [_answer_publish(lecture, entry, stored) for entry in _covered_entries(lecture)]
        _fact(LectureFact.Kind.PUBLISHED, lecture, user_id=lecture.lecturer_id, entries=entry_ids)
    logger.info("lecture.recording_published", extra={"recording_id": recording_id, "entries": entry_ids})


def _covered_entries(lecture: Lecture) -> list[Entry]:
    """The library's answered questions the lecture covers and that still stand."""
    return list(
        lecture.entries.filter(status=Entry.Status.ACTIVE).select_related("subject", "source_question").order_by("id")
    )


def _answer_publish(lecture: Lecture, entry: Entry, replay: StoredVideo) -> int:
    """The replay as a video answer to a question the lecture covers: a library entry of its own (one per lecture
    and question, so matching offers it); returns that entry's id."""
    published = entry_video_publish(
        external_id=f"lecture-{lecture.pk}-entry-{entry.pk}",
        text=entry.text,
        subject=entry.subject.code,
        grade=entry.grade,
        knowledge_points=entry.knowledge_points,
        video=replay.video,
        poster=replay.poster,
        duration_seconds=replay.duration_seconds,
        created_by=lecture.lecturer,
        source_question=entry.source_question,
    )
    return published.pk
