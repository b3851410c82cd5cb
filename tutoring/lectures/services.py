"""Lectures: scheduling, sign-ups, the live state and its log, the replay. Services write; the studio's socket
stores the board events here (checked by board protocol v1, ``tutoring.sessions.protocol``) before they are
broadcast."""

import logging
import math
import re
import tempfile
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any, TypeVar

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F, Model, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from media.errors import MediaProcessingError
from media.photos import photo_process
from media.slides import pdf_pages_render
from media.uploads import extension_for
from tutoring.accounts.models import User
from tutoring.core.errors import ServiceError
from tutoring.core.queueing import queue_on_commit, stalled_requeue
from tutoring.core.storage import stored_file_local_copy
from tutoring.core.uploads import (
    PDF,
    PHOTO,
    CheckedUpload,
    upload_check,
    upload_files_store,
    upload_local_copy,
    upload_process,
    upload_refusal,
    upload_store,
)
from tutoring.lectures import events, selectors
from tutoring.lectures.models import (
    MAX_POLL_OPTIONS,
    Lecture,
    LectureAudioChunk,
    LectureChatMessage,
    LectureConnection,
    LectureEvent,
    LectureFact,
    LectureHand,
    LecturePoll,
    LecturePollAnswer,
    LectureQuestion,
    LectureQuestionPhoto,
    LectureRecording,
    LectureSignup,
    LectureSlide,
    LectureSlideDeck,
    LectureUpvote,
)
from tutoring.library.models import Entry
from tutoring.library.services import entry_video_publish
from tutoring.sessions.protocol import DRAWING, ProtocolError, message_check
from tutoring.sessions.selectors import ms_since_start
from tutoring.sessions.services import RENDER_ATTEMPTS, RENDER_GRACE, StoredVideo, board_video_store

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=Model)

# What the studio may write to the log: the board (its student permissions have no meaning in a lecture); a
# page's background is one of the lecture's slides (``LectureSlide``).
BOARD_TYPES = DRAWING | {"board.page", "board.laser", "board.background"}
SLIDE_SIDE = 1600  # pixels, the longer side of a slide: the board's height
# A replay page reports what it played every 20 s of playing, on pause and when it is left: one report covers a
# few stretches of the video and at most this much of it. Players may report a little past the stored duration.
REPLAY_REPORT_MAX_SECONDS = 120
REPLAY_REPORT_MAX_INTERVALS = 50
REPLAY_END_TOLERANCE_SECONDS = 1.0
REPLAY_MAX_REPORTS = 1_000_000
# A viewing may not report more of the replay than time allows: the seconds of its first report (played before it
# was sent), then at most REPLAY_MAX_RATE seconds of video for each second since that report came (the fastest
# speed the browsers' own player controls offer: the page counts seconds of video, so 2× plays two a second),
# and REPLAY_CLOCK_TOLERANCE_SECONDS for reports that reach the server late or all at once (a slow first request,
# a page sending what it held while offline, web servers' clocks a little apart).
REPLAY_MAX_RATE = 2
REPLAY_CLOCK_TOLERANCE_SECONDS = 10
_VIEWING = re.compile(r"[0-9A-Za-z-]{8,64}")


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
            _files_delete_on_commit([*deck.uploads, *_picture_files(locked.slides.filter(number__isnull=False))])
            locked.slides.filter(number__isnull=False).delete()
            deck.status, deck.uploads, deck.error = LectureSlideDeck.Status.PENDING, names, ""
            deck.uploaded_by, deck.uploaded_at, deck.rendered_at = user, timezone.now(), None
            deck.save()
            from tutoring.lectures import tasks

            queue_on_commit(lambda: tasks.lecture_slides_render.delay(deck.pk), what=f"lecture_slides_render.{deck.pk}")
    except ServiceError:
        for name in names:
            default_storage.delete(name)
        raise
    logger.info("lecture.slides_uploaded", extra={"lecture_id": lecture.pk, "files": len(names)})
    return deck


def _picture_files(pictures: Any) -> list[str]:
    """The stored names of slides' or question photos' pictures and thumbnails."""
    return [name for picture in pictures for name in (picture.image.name, picture.thumbnail.name)]


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
            _files_delete_on_commit(_picture_files(gone))
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
    """The lecturer ends the lecture: its recording is queued for rendering; the photos uploaded to ask with but
    never asked with are deleted."""
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
        for poll in LecturePoll.objects.select_for_update().filter(lecture=lecture, status=LecturePoll.Status.OPEN):
            _poll_close(lecture, poll, None)
        for hand in (
            LectureHand.objects.select_for_update().filter(lecture=lecture, status__in=selectors.UP).order_by("id")
        ):
            _hand_end(lecture, hand, by=None, outcome="lecture_ended")
        unasked = LectureQuestionPhoto.objects.filter(lecture=lecture, question__isnull=True)
        _files_delete_on_commit(_picture_files(unasked))
        unasked.delete()
        recording = LectureRecording.objects.create(lecture=lecture)
        from tutoring.lectures import tasks

        queue_on_commit(
            lambda: tasks.lecture_recording_render.delay(recording.pk),
            what=f"lecture_recording_render.{recording.pk}",
        )
        events.lecture_status_send(lecture)
    return lecture


AUTHOR = "_author"  # set by the lecture's socket on every board message: None for the lecturer, else the student


def lecture_events_append(
    *, lecture_id: int, contents: Sequence[dict[str, Any]]
) -> list[dict[str, Any] | ServiceError]:
    """The board messages of the studio and of a student invited to draw, each checked by board protocol v1 and
    numbered after the log's last, stored in one transaction; returns each message's stored event or its error,
    in order. Nothing is stored unless the lecture is live; a student's only while they are invited to draw."""
    outcomes: list[dict[str, Any] | ServiceError] = []
    checked: list[tuple[int, str, dict[str, Any], int | None]] = []
    for index, content in enumerate(contents):
        author = content.get(AUTHOR)
        try:
            kind, data = message_check(content, role="teacher" if author is None else "student")
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
        checked.append((index, kind, data, author))
    if not checked:
        return outcomes
    with transaction.atomic():
        lecture = Lecture.objects.select_for_update().get(pk=lecture_id)
        if lecture.status != Lecture.Status.LIVE:
            refused = ServiceError("not_live", _("This lecture is not live."), status=409)
            return [refused if isinstance(outcome, dict) else outcome for outcome in outcomes]
        assert lecture.started_at is not None  # live lectures have started
        drawing = LectureHand.objects.filter(
            lecture=lecture, status=LectureHand.Status.INVITED, mode=LectureHand.Mode.DRAW
        ).values_list("student_id", flat=True)
        may_draw = set(drawing) if any(author is not None for *_, author in checked) else set()
        at_ms = ms_since_start(lecture.started_at, timezone.now())
        rows = []
        for index, kind, data, author in checked:
            if author is not None and author not in may_draw:
                outcomes[index] = ServiceError("not_allowed", _("Only the lecturer does this; you are watching."))
                continue
            lecture.last_seq += 1
            by = "teacher" if author is None else "student"
            row = LectureEvent(lecture=lecture, seq=lecture.last_seq, at_ms=at_ms, type=kind, data=data, by=by)
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


# --- Interaction: questions, upvotes, moderation, quick checks -----------------------------------


def _live(lecture_id: int, *, lock: bool) -> Lecture:
    """The lecture while it is live: the interaction happens only then. The lecturer's and moderators' changes
    lock it (they order the pin and the one open quick check); the students' questions, upvotes and answers do
    not, so that they never wait on the studio's log."""
    lectures = Lecture.objects.select_for_update() if lock else Lecture.objects.all()
    lecture = lectures.get(pk=lecture_id)
    if lecture.status != Lecture.Status.LIVE:
        raise ServiceError("not_live", _("This lecture is not live."), status=409)
    return lecture


def _moderating(lecture: Lecture, user: User) -> None:
    if selectors.lecture_role(lecture, user) not in selectors.MODERATING:
        raise ServiceError("not_allowed", _("Only the lecturer and the moderators do this."), status=403)


def _watching(lecture: Lecture, user: User) -> None:
    if selectors.lecture_role(lecture, user) != selectors.VIEWER:
        raise ServiceError("not_allowed", _("Only the students watching do this."), status=403)


def _locked(rows: "QuerySet[M]", refusal: ServiceError) -> M:
    """The first of ``rows``, locked for this transaction; ``refusal`` when there is none."""
    row = rows.select_for_update().first()
    if row is None:
        raise refusal
    return row


def _id(value: Any) -> int:
    """An id from a socket's message; 0 (no row has it) for anything but a positive integer."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


MAX_QUESTION_CHARS = LectureQuestion._meta.get_field("text").max_length or 300


def _asking_check(lecture: Lecture, student: User) -> None:
    """The student may ask now: fewer than LECTURE_QUESTIONS_PER_LECTURE questions in the lecture, and fewer than
    LECTURE_QUESTIONS_PER_MINUTE in the last minute."""
    asked = LectureQuestion.objects.filter(lecture=lecture, student=student)
    limits = settings.XUEWEN
    if asked.count() >= limits["LECTURE_QUESTIONS_PER_LECTURE"]:
        raise ServiceError(
            "too_many_questions",
            _("You have asked %(count)s questions in this lecture, the most there can be.")
            % {"count": limits["LECTURE_QUESTIONS_PER_LECTURE"]},
            status=429,
        )
    if (
        asked.filter(created_at__gte=timezone.now() - timedelta(minutes=1)).count()
        >= limits["LECTURE_QUESTIONS_PER_MINUTE"]
    ):
        raise ServiceError("rate_limited", _("You are asking too fast; wait a minute."), status=429)


def lecture_question_photo_add(*, lecture_id: int, student: User, file: IO[bytes]) -> LectureQuestionPhoto:
    """A photo for the student's next question in the live lecture, checked like a question's photo at intake
    (size, a real picture, pixels) and processed before anything is stored: turned upright (EXIF), stripped of
    every metadata field, downscaled, with a thumbnail. The student then asks with its id
    (``lecture_question_ask``). Only while the student may ask (the questions' limits), and at most
    LECTURE_QUESTIONS_PER_LECTURE photos a lecture; a refusal stores nothing."""
    lecture = _live(lecture_id, lock=False)
    _watching(lecture, student)
    _asking_check(lecture, student)
    most = settings.XUEWEN["LECTURE_QUESTIONS_PER_LECTURE"]
    if LectureQuestionPhoto.objects.filter(lecture=lecture, student=student).count() >= most:
        raise ServiceError(
            "too_many_photos",
            _("You have sent %(count)s photos in this lecture, the most there can be.") % {"count": most},
            status=429,
            field="photo",
        )
    upload_check(file, kinds={PHOTO}, field="photo")
    with tempfile.TemporaryDirectory(prefix="xuewen-lecture-photo-") as scratch:
        directory = Path(scratch)
        try:
            processed = upload_process(upload_local_copy(file, directory / "upload"), kind=PHOTO, directory=directory)
        except MediaProcessingError as error:
            raise upload_refusal(error, "photo") from error
    names = upload_files_store(processed, folder=f"lectures/{lecture.pk}/questions")
    assert processed.width is not None and processed.height is not None  # a processed photo has its size
    try:
        with transaction.atomic():
            _live(lecture_id, lock=True)  # ordered with the end, which deletes the photos never asked with
            photo = LectureQuestionPhoto.objects.create(
                lecture=lecture,
                student=student,
                image=names["processed"],
                thumbnail=names["thumbnail"],
                width=processed.width,
                height=processed.height,
            )
    except Exception:
        for name in names.values():
            default_storage.delete(name)
        raise
    logger.info("lecture.question_photo_added", extra={"lecture_id": lecture.pk, "photo_id": photo.pk})
    return photo


def lecture_question_ask(*, lecture_id: int, student: User, text: Any, photo_id: Any = None) -> LectureQuestion:
    """A student's question to the lecture's stream, within the per-student limits; with ``photo_id``, the photo
    the student uploaded for it (``lecture_question_photo_add``), with one question only."""
    if not isinstance(text, str) or not text.strip():
        raise ServiceError("empty_question", _("Write your question first."), field="text")
    text = " ".join(text.split())
    if len(text) > MAX_QUESTION_CHARS:
        raise ServiceError(
            "question_too_long",
            _("A question has at most %(count)s characters.") % {"count": MAX_QUESTION_CHARS},
            field="text",
        )
    with transaction.atomic():
        lecture = _live(lecture_id, lock=False)
        _watching(lecture, student)
        _asking_check(lecture, student)
        photo = None
        if photo_id is not None:
            refusal = ServiceError("unknown_photo", _("Choose the photo again."), field="photo")
            photos = LectureQuestionPhoto.objects.filter(pk=_id(photo_id), lecture=lecture, student=student)
            photo = _locked(photos, refusal)  # the same photo sent twice at once: the second waits, then is refused
            if LectureQuestion.objects.filter(photo=photo).exists():
                raise refusal
        question = LectureQuestion.objects.create(lecture=lecture, student=student, text=text, photo=photo)
        with_photo: dict[str, Any] = {"photo": photo.pk} if photo else {}
        _fact(LectureFact.Kind.ASKED, lecture, user_id=student.pk, question=question.pk, text=text, **with_photo)
    return selectors.questions_counted().get(pk=question.pk)


def lecture_question_upvote(*, lecture_id: int, student: User, question_id: Any) -> LectureQuestion:
    """A student upvotes another's question, once (again, from any tab, is no change); never a hidden one or their
    own. Nothing is locked: many upvotes on one question at once each add a row."""
    with transaction.atomic():
        lecture = _live(lecture_id, lock=False)
        _watching(lecture, student)
        shown = LectureQuestion.objects.filter(pk=_id(question_id), lecture=lecture)
        question = shown.exclude(status=LectureQuestion.Status.HIDDEN).first()
        if question is None:
            raise _unknown_question()
        if question.student_id == student.pk:
            raise ServiceError("own_question", _("You cannot upvote your own question."))
        try:
            with transaction.atomic():
                LectureUpvote.objects.create(lecture_question=question, student=student)
        except IntegrityError:  # upvoted before
            pass
        else:
            _fact(LectureFact.Kind.UPVOTED, lecture, user_id=student.pk, question=question.pk)
    return selectors.questions_counted().get(pk=question.pk)


def _unknown_question() -> ServiceError:
    return ServiceError("unknown_question", _("There is no such question."), status=404)


MODERATIONS = {  # what the lecturer or a moderator does to a question: its new status and its fact
    "answer": (LectureQuestion.Status.ANSWERED, LectureFact.Kind.QUESTION_ANSWERED),
    "hide": (LectureQuestion.Status.HIDDEN, LectureFact.Kind.QUESTION_HIDDEN),
    "pin": (None, LectureFact.Kind.QUESTION_PINNED),
    "unpin": (None, LectureFact.Kind.QUESTION_UNPINNED),
}


def lecture_question_moderate(*, lecture_id: int, user: User, question_id: Any, action: str) -> LectureQuestion:
    """Mark a question answered, hide it (it leaves every viewer's list and the pin), pin it on every screen, or
    unpin it. Every process's viewers are told at once."""
    status, kind = MODERATIONS[action]
    with transaction.atomic():
        lecture = _live(lecture_id, lock=True)
        _moderating(lecture, user)
        question = _locked(LectureQuestion.objects.filter(pk=_id(question_id), lecture=lecture), _unknown_question())
        if action == "pin" and question.status == LectureQuestion.Status.HIDDEN:
            raise ServiceError("question_hidden", _("A hidden question cannot be pinned."), status=409)
        if status is not None:
            question.status = status
            question.save(update_fields=["status"])
        pinned = lecture.pinned_question_id
        if action == "pin":
            pinned = question.pk
        elif (action == "unpin" or status == LectureQuestion.Status.HIDDEN) and pinned == question.pk:
            pinned = None
        if pinned != lecture.pinned_question_id:
            lecture.pinned_question_id = pinned
            lecture.save(update_fields=["pinned_question"])
        _fact(kind, lecture, user_id=user.pk, question=question.pk)
        events.lecture_interaction_send(lecture.pk)
    return selectors.questions_counted().get(pk=question.pk)


def lecture_poll_open(*, lecture_id: int, user: User, kind: Any, prompt: Any, options: Any) -> LecturePoll:
    """A quick check: 2-6 options to choose from, or a number to give. One is open at a time."""
    if kind not in LecturePoll.Kind.values:
        raise ServiceError("invalid_poll", _("A quick check asks to choose an option or to give a number."))
    prompt = " ".join(prompt.split()) if isinstance(prompt, str) else ""
    if len(prompt) > 200:
        raise ServiceError("invalid_poll", _("The question of a quick check has at most 200 characters."))
    if kind == LecturePoll.Kind.CHOICE:
        if not isinstance(options, list) or not all(isinstance(option, str) for option in options):
            raise ServiceError("invalid_poll", _("Give the options as text."))
        options = [" ".join(option.split()) for option in options]
        if not 2 <= len(options) <= MAX_POLL_OPTIONS or not all(0 < len(option) <= 60 for option in options):
            raise ServiceError(
                "invalid_poll",
                _("A quick check has 2 to %(count)s options of at most 60 characters each.")
                % {"count": MAX_POLL_OPTIONS},
            )
    else:
        options = []
    with transaction.atomic():
        lecture = _live(lecture_id, lock=True)
        _moderating(lecture, user)
        if LecturePoll.objects.filter(lecture=lecture, status=LecturePoll.Status.OPEN).exists():
            raise ServiceError("poll_open", _("Close the open quick check first."), status=409)
        poll = LecturePoll.objects.create(lecture=lecture, kind=kind, prompt=prompt, options=options, opened_by=user)
        _fact(
            LectureFact.Kind.POLL_OPENED, lecture, user_id=user.pk, poll=poll.pk, poll_kind=kind, options=len(options)
        )
        events.lecture_interaction_send(lecture.pk)
    return poll


def _poll_close(lecture: Lecture, poll: LecturePoll, user: User | None) -> None:
    poll.status, poll.closed_at = LecturePoll.Status.CLOSED, timezone.now()
    poll.save(update_fields=["status", "closed_at"])
    _fact(
        LectureFact.Kind.POLL_CLOSED,
        lecture,
        user_id=user.pk if user else None,
        poll=poll.pk,
        answers=poll.answers.count(),
    )
    events.lecture_interaction_send(lecture.pk)


def lecture_poll_close(*, lecture_id: int, user: User, poll_id: Any) -> LecturePoll:
    """Close the quick check: its distribution shows to everyone."""
    with transaction.atomic():
        lecture = _live(lecture_id, lock=True)
        _moderating(lecture, user)
        open_poll = LecturePoll.objects.filter(pk=_id(poll_id), lecture=lecture, status=LecturePoll.Status.OPEN)
        poll = _locked(open_poll, ServiceError("poll_closed", _("This quick check is not open."), status=409))
        _poll_close(lecture, poll, user)
    return poll


MAX_POLL_NUMBER = Decimal("1e10")


def _poll_number(value: Any) -> Decimal:
    """A number answer as given (an integer, a decimal or a fraction such as 3/4), to 4 decimal places."""
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    try:
        if "/" in text:
            top, bottom = (Decimal(part) for part in text.split("/", 1))
            number = top / bottom
        else:
            number = Decimal(text)
    except (InvalidOperation, ZeroDivisionError, ValueError):
        raise ServiceError("invalid_answer", _("Give a number, such as 12, 0.5 or 3/4.")) from None
    if not number.is_finite() or abs(number) >= MAX_POLL_NUMBER:
        raise ServiceError("invalid_answer", _("Give a number, such as 12, 0.5 or 3/4."))
    return number.quantize(Decimal("0.0001"))


def lecture_poll_answer(*, lecture_id: int, student: User, poll_id: Any, answer: Any) -> LecturePollAnswer:
    """A student answers the open quick check, once."""
    with transaction.atomic():
        lecture = _live(lecture_id, lock=False)
        _watching(lecture, student)
        poll = (  # locked: an answer counts if it came before the close
            LecturePoll.objects.select_for_update().filter(pk=_id(poll_id), lecture=lecture).first()
        )
        if poll is None or poll.status != LecturePoll.Status.OPEN:
            raise ServiceError("poll_closed", _("This quick check is closed."), status=409)
        choice = number = None
        if poll.kind == LecturePoll.Kind.CHOICE:
            if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer < len(poll.options):
                raise ServiceError("invalid_answer", _("Choose one of the options."))
            choice = answer
        else:
            number = _poll_number(answer)
        if LecturePollAnswer.objects.filter(poll=poll, student=student).exists():  # the poll's lock orders them
            raise ServiceError("already_answered", _("You have already answered this quick check."), status=409)
        given = LecturePollAnswer.objects.create(poll=poll, student=student, choice=choice, number=number)
        _fact(
            LectureFact.Kind.POLL_ANSWERED,
            lecture,
            user_id=student.pk,
            poll=poll.pk,
            choice=choice,
            number=str(number) if number is not None else None,
        )
    return given


# --- Hand-raise: one student at a time invited to speak or to draw ---------------------------------


def _hand_end(lecture: Lecture, hand: LectureHand, *, by: User | None, outcome: str) -> None:
    """A raised or invited hand comes down: a fact with its outcome, and the seconds on stage if invited."""
    now = timezone.now()
    on_stage = round((now - hand.invited_at).total_seconds(), 3) if hand.invited_at else None
    kind = LectureFact.Kind.HAND_ENDED if hand.status == LectureHand.Status.INVITED else LectureFact.Kind.HAND_LOWERED
    hand.status, hand.ended_at = LectureHand.Status.DONE, now
    hand.save(update_fields=["status", "ended_at"])
    details: dict[str, Any] = {"hand": hand.pk, "student": hand.student_id, "outcome": outcome}
    if on_stage is not None:
        details |= {"mode": hand.mode, "seconds": on_stage}
    _fact(kind, lecture, user_id=by.pk if by else None, **details)


def _hand_down() -> ServiceError:
    return ServiceError("no_hand", _("This hand is no longer raised."), status=409)


def lecture_hand_raise(*, lecture_id: int, student: User) -> LectureHand:
    """举手: once (a hand already up stays as it is). The lecturer sees the queue at the next tick."""
    with transaction.atomic():
        lecture = _live(lecture_id, lock=False)
        _watching(lecture, student)
        hand = LectureHand.objects.filter(lecture=lecture, student=student, status__in=selectors.UP).first()
        if hand is None:
            hand = LectureHand.objects.create(lecture=lecture, student=student)
            _fact(LectureFact.Kind.HAND_RAISED, lecture, user_id=student.pk, hand=hand.pk)
    return hand


def lecture_hand_lower(*, lecture_id: int, student: User) -> None:
    """The student puts the hand down, or ends their turn: everyone's screen follows at once if they were on."""
    with transaction.atomic():
        lecture = _live(lecture_id, lock=True)
        _watching(lecture, student)
        hands = LectureHand.objects.filter(lecture=lecture, student=student, status__in=selectors.UP)
        hand = _locked(hands, ServiceError("no_hand", _("Your hand is not raised."), status=409))
        invited = hand.status == LectureHand.Status.INVITED
        _hand_end(lecture, hand, by=student, outcome="lowered")
        if invited:
            events.lecture_interaction_send(lecture.pk)


def lecture_hand_invite(*, lecture_id: int, user: User, hand_id: Any, mode: Any) -> LectureHand:
    """The lecturer or a moderator gives a raised hand the turn, to speak or to draw; whoever had it is done."""
    if mode not in LectureHand.Mode.values:
        raise ServiceError("invalid_mode", _("Invite the student to speak or to draw."))
    with transaction.atomic():
        lecture = _live(lecture_id, lock=True)
        _moderating(lecture, user)
        raised = LectureHand.objects.filter(pk=_id(hand_id), lecture=lecture, status=LectureHand.Status.RAISED)
        hand = _locked(raised, _hand_down())
        for current in LectureHand.objects.select_for_update().filter(
            lecture=lecture, status=LectureHand.Status.INVITED
        ):
            _hand_end(lecture, current, by=user, outcome="next")
        hand.status, hand.mode, hand.invited_at = LectureHand.Status.INVITED, mode, timezone.now()
        hand.save(update_fields=["status", "mode", "invited_at"])
        _fact(LectureFact.Kind.HAND_INVITED, lecture, user_id=user.pk, hand=hand.pk, student=hand.student_id, mode=mode)
        events.lecture_interaction_send(lecture.pk)
    return hand


def lecture_hand_end(*, lecture_id: int, user: User, hand_id: Any) -> None:
    """The lecturer or a moderator takes the turn back (or turns down a raised hand)."""
    with transaction.atomic():
        lecture = _live(lecture_id, lock=True)
        _moderating(lecture, user)
        up = LectureHand.objects.filter(pk=_id(hand_id), lecture=lecture, status__in=selectors.UP)
        hand = _locked(up, _hand_down())
        _hand_end(lecture, hand, by=user, outcome="taken_back")
        events.lecture_interaction_send(lecture.pk)


# --- Chat ---------------------------------------------------------------------------------------

MAX_CHAT_CHARS = LectureChatMessage._meta.get_field("text").max_length or 100
CHAT_PER_MINUTE = 6


def lecture_chat_switch(*, lecture_id: int, user: User, open: Any) -> Lecture:
    """The lecturer or a moderator switches the students' chat on or off; everyone's page follows at once."""
    if not isinstance(open, bool):
        raise ServiceError("invalid_message", _("Say whether the chat is on or off."))
    with transaction.atomic():
        lecture = _live(lecture_id, lock=True)
        _moderating(lecture, user)
        if lecture.chat_open != open:
            lecture.chat_open = open
            lecture.save(update_fields=["chat_open"])
            _fact(LectureFact.Kind.CHAT_SWITCHED, lecture, user_id=user.pk, open=open)
            events.lecture_interaction_send(lecture.pk)
    return lecture


def lecture_chat_send(*, lecture_id: int, student: User, text: Any) -> LectureChatMessage:
    """A student's chat message, while the chat is on: at most CHAT_PER_MINUTE a minute. Everyone sees it at the
    next tick."""
    if not isinstance(text, str) or not text.strip():
        raise ServiceError("empty_message", _("Write your message first."))
    text = " ".join(text.split())
    if len(text) > MAX_CHAT_CHARS:
        raise ServiceError(
            "message_too_long", _("A chat message has at most %(count)s characters.") % {"count": MAX_CHAT_CHARS}
        )
    with transaction.atomic():
        lecture = _live(lecture_id, lock=False)
        _watching(lecture, student)
        if not lecture.chat_open:
            raise ServiceError("chat_closed", _("The teacher has switched the chat off."), status=409)
        recent = LectureChatMessage.objects.filter(
            lecture=lecture, student=student, created_at__gte=timezone.now() - timedelta(minutes=1)
        )
        if recent.count() >= CHAT_PER_MINUTE:
            raise ServiceError("rate_limited", _("You are sending too fast; wait a minute."), status=429)
        return LectureChatMessage.objects.create(lecture=lecture, student=student, text=text)


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
    retried by the task, RENDER_ATTEMPTS times in all however often it is queued; the log and the voice are never
    deleted."""
    claimed = LectureRecording.objects.filter(
        Q(status=LectureRecording.Status.PENDING)
        | Q(status=LectureRecording.Status.FAILED, attempts__lt=RENDER_ATTEMPTS),
        pk=recording_id,
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
        entry_ids = [_answer_publish(lecture, entry, stored) for entry in selectors.lecture_entry_list(lecture)]
        _fact(LectureFact.Kind.PUBLISHED, lecture, user_id=lecture.lecturer_id, entries=entry_ids)
    logger.info("lecture.recording_published", extra={"recording_id": recording_id, "entries": entry_ids})


def lectures_stalled_requeue() -> dict[str, int]:
    """Queue rendering again for slides still waiting to render RENDER_GRACE after their upload, and for
    recordings still waiting to render (or to retry a failed attempt) RENDER_GRACE after their lecture ended: their
    task was lost. Both renders claim their row as they start, so a late duplicate does nothing. Returns how many
    of each were queued."""
    from tutoring.lectures import tasks

    since = timezone.now() - RENDER_GRACE
    decks = LectureSlideDeck.objects.filter(status=LectureSlideDeck.Status.PENDING, uploaded_at__lt=since)
    recordings = LectureRecording.objects.filter(
        Q(status=LectureRecording.Status.PENDING)
        | Q(status=LectureRecording.Status.FAILED, attempts__lt=RENDER_ATTEMPTS),
        lecture__ended_at__lt=since,
    )
    return {
        "slides": stalled_requeue(
            tasks.lecture_slides_render,
            decks.order_by("uploaded_at").values_list("pk", flat=True)[:100],
            grace=RENDER_GRACE,
        ),
        "recordings": stalled_requeue(
            tasks.lecture_recording_render,
            recordings.order_by("lecture__ended_at").values_list("pk", flat=True)[:100],
            grace=RENDER_GRACE,
        ),
    }


def _answer_publish(lecture: Lecture, entry: Entry, replay: StoredVideo) -> int:
    """The replay as a video answer to a question the lecture covers: a library entry of its own (one per lecture
    and question, so matching offers it); returns that entry's id."""
    published = entry_video_publish(
        external_id=f"lecture-{lecture.pk}-entry-{entry.pk}",
        text=entry.text,
        subject=entry.subject.code,
        grade=entry.grade,
        knowledge_points=[point.code for point in entry.knowledge_points.all()],
        video=replay.video,
        poster=replay.poster,
        duration_seconds=replay.duration_seconds,
        created_by=lecture.lecturer,
        source_question=entry.source_question,
    )
    return published.pk


# --- On demand --------------------------------------------------------------------------------


def lecture_replay_watched(
    *, lecture: Lecture, user: User, viewing: str, seq: int, intervals: Sequence[tuple[float, float]]
) -> LectureFact:
    """Stretches of the replay that ``user`` played: ``intervals`` of the video in seconds from its start (what
    the player played, not the time that passed: a skipped part is in none), the ``seq``-th report of one
    ``viewing`` (a key the page makes when it opens). Appended as one fact with the seconds played; the same
    report again (a retry) appends nothing and returns the fact already stored, so the facts sum exactly.

    A viewing's reports together cover at most the seconds of its first report, REPLAY_MAX_RATE seconds for each
    second of the clock since that report was stored, and REPLAY_CLOCK_TOLERANCE_SECONDS: a report past that is
    refused and nothing is stored (a retry of one stored before is still answered with it)."""
    recording = selectors.lecture_recording_get(lecture)
    if recording is None or recording.status != LectureRecording.Status.PUBLISHED:
        raise ServiceError("no_replay", _("This lecture has no replay yet."), status=409)
    if not _VIEWING.fullmatch(viewing):
        raise ServiceError("invalid_viewing", _("The viewing key is not valid."), field="viewing")
    if not 1 <= seq <= REPLAY_MAX_REPORTS:
        raise ServiceError("invalid_seq", _("The report number is not valid."), field="seq")
    if not 1 <= len(intervals) <= REPLAY_REPORT_MAX_INTERVALS:
        raise ServiceError(
            "invalid_intervals",
            _("Report from 1 to %(count)s stretches of the replay.") % {"count": REPLAY_REPORT_MAX_INTERVALS},
            field="intervals",
        )
    limit = (recording.duration_seconds or 0) + REPLAY_END_TOLERANCE_SECONDS
    for start, end in intervals:
        if not (math.isfinite(start) and math.isfinite(end) and 0 <= start < end <= limit):
            raise ServiceError(
                "invalid_interval",
                _("Each stretch must start before it ends, within the replay's length."),
                field="intervals",
            )
    seconds = round(sum(end - start for start, end in intervals), 3)
    if seconds > REPLAY_REPORT_MAX_SECONDS:
        raise ServiceError(
            "report_too_long",
            _("One report covers at most %(seconds)s seconds of the replay.") % {"seconds": REPLAY_REPORT_MAX_SECONDS},
            field="intervals",
        )
    key = f"replay:{viewing}:{seq}"
    data = {
        "viewing": viewing,
        "seq": seq,
        "seconds": seconds,
        "intervals": [[round(start, 3), round(end, 3)] for start, end in intervals],
        "role": selectors.lecture_role(lecture, user),
    }
    try:
        with transaction.atomic():
            # One report of a user's at a time (their row locked until commit), so that the clock's check counts
            # every report of the viewing stored before this one, however many come at once. A viewing has no row
            # to lock before its first report, and a user sends a few reports a minute: their row costs no wait.
            User.objects.select_for_update().filter(pk=user.pk).first()
            stored = LectureFact.objects.filter(lecture=lecture, user=user, idempotency_key=key).first()
            if stored is not None:
                return stored
            now = timezone.now()
            _replay_clock_check(lecture=lecture, user=user, viewing=viewing, seconds=seconds, now=now)
            fact = LectureFact.objects.create(
                kind=LectureFact.Kind.REPLAY_WATCHED, lecture=lecture, user=user, at=now, idempotency_key=key, data=data
            )
    except IntegrityError:  # stored meanwhile where rows are not locked (SQLite): it came twice at once
        return LectureFact.objects.get(lecture=lecture, user=user, idempotency_key=key)
    logger.info("lecture.replay_watched", extra={"lecture_id": lecture.pk, "user_id": user.pk, "seconds": seconds})
    return fact


def _replay_clock_check(*, lecture: Lecture, user: User, viewing: str, seconds: float, now: datetime) -> None:
    """Refuse a report of ``seconds`` that would take its viewing past what the clock allows (see
    ``lecture_replay_watched``); a viewing's first report is not limited here."""
    first = selectors.lecture_replay_viewing_start(lecture_id=lecture.pk, user_id=user.pk, viewing=viewing)
    if first is None:
        return
    started_at, first_seconds = first
    allowed = first_seconds + REPLAY_MAX_RATE * (now - started_at).total_seconds() + REPLAY_CLOCK_TOLERANCE_SECONDS
    reported = selectors.lecture_replay_seconds(lecture_id=lecture.pk, user_id=user.pk, viewing=viewing)
    if reported + seconds > allowed:
        raise ServiceError(
            "replay_ahead_of_time",
            _("This viewing reports more of the replay than the time since it began allows."),
            status=409,
            field="intervals",
        )
