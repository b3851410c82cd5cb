"""Lectures: scheduling, sign-ups, the live state and its log, the replay. Services write; the studio's socket
stores the board events here (checked by board protocol v1, ``tutoring.sessions.protocol``) before they are
broadcast."""

import logging
import math
import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from media.errors import MediaProcessingError
from tutoring.accounts.models import User
from tutoring.core.errors import ServiceError
from tutoring.lectures import events, selectors
from tutoring.lectures.models import (
    Lecture,
    LectureAudioChunk,
    LectureConnection,
    LectureEvent,
    LectureFact,
    LectureRecording,
    LectureSignup,
)
from tutoring.library.models import Entry
from tutoring.library.services import entry_video_publish
from tutoring.sessions.protocol import DRAWING, ProtocolError, message_check
from tutoring.sessions.selectors import ms_since_start
from tutoring.sessions.services import StoredVideo, board_video_store

logger = logging.getLogger(__name__)

# What the studio may write to the log: the board (its student permissions have no meaning in a lecture, and
# a lecture has no photos to place until slides come).
BOARD_TYPES = DRAWING | {"board.page", "board.laser"}
# A replay page reports what it played every 20 s of playing, on pause and when it is left: one report covers a
# few stretches of the video and at most this much of it. Players may report a little past the stored duration.
REPLAY_REPORT_MAX_SECONDS = 120
REPLAY_REPORT_MAX_INTERVALS = 50
REPLAY_END_TOLERANCE_SECONDS = 1.0
REPLAY_MAX_REPORTS = 1_000_000
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
            backgrounds={},  # lectures have no slides or photos yet
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


# --- On demand --------------------------------------------------------------------------------


def lecture_replay_watched(
    *, lecture: Lecture, user: User, viewing: str, seq: int, intervals: Sequence[tuple[float, float]]
) -> LectureFact:
    """Stretches of the replay that ``user`` played: ``intervals`` of the video in seconds from its start (what
    the player played, not the time that passed: a skipped part is in none), the ``seq``-th report of one
    ``viewing`` (a key the page makes when it opens). Appended as one fact with the seconds played; the same
    report again (a retry) appends nothing and returns the fact already stored, so the facts sum exactly."""
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
            fact = LectureFact.objects.create(
                kind=LectureFact.Kind.REPLAY_WATCHED, lecture=lecture, user=user, idempotency_key=key, data=data
            )
    except IntegrityError:  # this report was stored before: its first answer was lost, or it came twice
        return LectureFact.objects.get(lecture=lecture, user=user, idempotency_key=key)
    logger.info("lecture.replay_watched", extra={"lecture_id": lecture.pk, "user_id": user.pk, "seconds": seconds})
    return fact
