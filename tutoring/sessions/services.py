"""Same-screen sessions: opening a room on accept, the event log, presence, voice recording, ending,
rating, the teacher's corrections, and the recording's way to a library video.

Everything a client sees is in the database first: a board or chat message is checked, numbered and
stored in one short transaction (the session row lock orders the log), and relayed after commit.
"""

import json
import logging
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Max, Q
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from django.utils.translation import gettext as _

from media.board import board_render, voice_track_write
from media.errors import MediaProcessingError
from tutoring.accounts.models import User
from tutoring.core.errors import ServiceError
from tutoring.core.queueing import queue_on_commit, stalled_requeue
from tutoring.core.storage import stored_file_local_copy
from tutoring.core.uploads import (
    PHOTO,
    VOICE,
    upload_check,
    upload_files_store,
    upload_local_copy,
    upload_process,
    upload_refusal,
)
from tutoring.knowledge.models import TagSource
from tutoring.knowledge.selectors import knowledge_point_resolve
from tutoring.library.services import entry_video_publish
from tutoring.questions.lifecycle import question_lock
from tutoring.questions.models import Attachment
from tutoring.questions.selectors import attachments_prefetch
from tutoring.questions.services import (
    question_knowledge_points_set,
    question_text_check,
    subject_and_grade_check,
)
from tutoring.routing import services as routing
from tutoring.sessions import events, selectors
from tutoring.sessions.models import (
    AudioChunk,
    ChatAttachment,
    Recording,
    Role,
    SessionConnection,
    SessionEvent,
    SessionFact,
    TutoringSession,
)
from tutoring.sessions.protocol import DRAWING, ProtocolError, message_check
from tutoring.sessions.serializers import ChatAttachmentSerializer, RecordingSerializer, SessionSerializer

logger = logging.getLogger(__name__)

AUDIO_SAMPLE_RATE = 16_000
RENDER_ATTEMPTS = 3
# A recording still waiting to render this long after its session ended has lost its task (or the retry of a
# failed attempt): renders claim the recording as they start, so a late duplicate does nothing.
RENDER_GRACE = timedelta(minutes=10)


def _fact(
    kind: str, session: TutoringSession, *, user_id: int | None = None, at: datetime | None = None, **data: Any
) -> None:
    SessionFact.objects.create(kind=kind, session=session, user_id=user_id, at=at or timezone.now(), data=data)


def session_state(session: TutoringSession, role: str) -> dict[str, Any]:
    return SessionSerializer(session, context={"role": role, "presence": selectors.session_presence(session.pk)}).data


# --- Opening ------------------------------------------------------------------------------


def session_start(*, teacher: User, offer_id: int) -> TutoringSession:
    """The teacher accepts an offer: the question is theirs (exactly once, see routing) and the room opens
    for exactly this teacher and this student."""
    with transaction.atomic():
        ticket = routing.offer_accept(teacher=teacher, offer_id=offer_id)
        assert ticket.assigned_at is not None  # the accept has just assigned it
        session = TutoringSession.objects.create(
            ticket=ticket,
            question_id=ticket.question_id,
            teacher=teacher,
            student_id=ticket.question.student_id,
            started_at=ticket.assigned_at,
        )
        _fact(SessionFact.Kind.STARTED, session, user_id=teacher.pk, at=session.started_at, ticket_id=ticket.pk)
        events.session_opened_event_send(session)
    logger.info("session.started", extra={"session_id": session.pk, "ticket_id": ticket.pk})
    return session


# --- Presence -----------------------------------------------------------------------------


def session_join(*, session: TutoringSession, user: User, channel_name: str) -> str:
    """A socket entered the room; returns the user's role. The first socket of a side is a "joined" fact;
    every socket in the room learns the room's sockets (they relay to each other directly)."""
    role = selectors.session_role(session, user)
    with transaction.atomic():
        TutoringSession.objects.select_for_update().filter(pk=session.pk).first()  # orders presence changes
        before = selectors.session_presence(session.pk)
        SessionConnection.objects.create(session=session, user=user, role=role, channel_name=channel_name)
        if role != Role.OBSERVER and not before[role]:
            _fact(SessionFact.Kind.JOINED, session, user_id=user.pk, role=role)
            events.session_presence_event_send(session.pk, {**before, role: True})
        events.session_sockets_event_send(session.pk, selectors.session_sockets(session.pk))
    return role


def session_leave(*, channel_name: str, at: datetime | None = None) -> None:
    """A socket left (or fell silent); the last socket of a side is a "left" fact."""
    socket = SessionConnection.objects.filter(channel_name=channel_name, left_at__isnull=True).first()
    if socket is None:
        return
    with transaction.atomic():
        session = TutoringSession.objects.select_for_update().get(pk=socket.session_id)  # orders presence changes
        SessionConnection.objects.filter(pk=socket.pk).update(left_at=at or timezone.now())
        presence = selectors.session_presence(socket.session_id)
        if socket.role != Role.OBSERVER and not presence[socket.role]:
            _fact(SessionFact.Kind.LEFT, session, user_id=socket.user_id, at=at, role=socket.role)
            events.session_presence_event_send(session.pk, presence)
        events.session_sockets_event_send(socket.session_id, selectors.session_sockets(socket.session_id))


def session_seen(*, channel_name: str) -> None:
    SessionConnection.objects.filter(channel_name=channel_name, left_at__isnull=True).update(seen_at=timezone.now())


# --- The log --------------------------------------------------------------------------------


_SESSIONS, _EVENTS = TutoringSession._meta.db_table, SessionEvent._meta.db_table
# The log's three statements (see ``session_messages_append``), each with one JSON parameter whatever the
# batch's size: the statement is the same text every time (no per-batch SQL to build and parse) and the
# batch goes over as one value. Only the JSON functions differ between the two databases.
LOG_SQL = {
    "postgresql": {
        "lock": f"SELECT id, last_seq, started_at, student_draw, student_speak FROM {_SESSIONS}"
        " WHERE id IN (SELECT value::bigint FROM jsonb_array_elements_text(%s::jsonb)) AND status = %s"
        " ORDER BY id FOR UPDATE",
        "count": f"UPDATE {_SESSIONS} AS s SET last_seq = v.last_seq, student_draw = v.draw, student_speak = v.speak"
        " FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, last_seq integer, draw boolean, speak boolean)"
        " WHERE s.id = v.id",
        "insert": f"INSERT INTO {_EVENTS} (session_id, seq, at_ms, role, type, data)"
        " SELECT session_id, seq, at_ms, role, type, data FROM jsonb_to_recordset(%s::jsonb)"
        " AS v(session_id bigint, seq integer, at_ms integer, role text, type text, data jsonb)",
    },
    "sqlite": {
        "lock": f"SELECT id, last_seq, started_at, student_draw, student_speak FROM {_SESSIONS}"
        " WHERE id IN (SELECT value FROM json_each(%s)) AND status = %s ORDER BY id",
        "count": f"UPDATE {_SESSIONS} SET last_seq = json_extract(v.value, '$.last_seq'),"
        " student_draw = json_extract(v.value, '$.draw'), student_speak = json_extract(v.value, '$.speak')"
        f" FROM json_each(%s) AS v WHERE {_SESSIONS}.id = json_extract(v.value, '$.id')",
        "insert": f"INSERT INTO {_EVENTS} (session_id, seq, at_ms, role, type, data)"
        " SELECT json_extract(value, '$.session_id'), json_extract(value, '$.seq'), json_extract(value, '$.at_ms'),"
        " json_extract(value, '$.role'), json_extract(value, '$.type'), json_extract(value, '$.data')"
        " FROM json_each(%s)",
    },
}


@dataclass(frozen=True)
class Message:
    """A board or chat message as a socket received it; ``role`` is the sender's as the socket entered."""

    session_id: int
    user: User
    role: str
    content: dict[str, Any]


def session_messages_append(messages: Sequence[Message]) -> list[dict[str, Any] | ServiceError]:
    """Check each message against the protocol and its sender's rights and store the ones that pass, each
    with its room's next sequence number, all in one transaction: a web process hands over every message
    its sockets received while its previous write ran, so a busy process makes one write (one thread hop,
    one commit) per batch instead of one per stroke chunk. Returns each message's outcome in order: the
    stored event, which the sender's socket then relays to the room's other sockets, or the error.

    Three statements whatever the batch's size: lock the batch's rooms (in id order, so two processes'
    batches cannot deadlock), number the messages that pass against the locked rows (the room is open;
    a student draws only while allowed, after any permission change earlier in the batch), then update
    the rooms' counters and insert the events."""
    outcomes: list[Any] = [None] * len(messages)  # each message's event or error, filled in below
    checked = _messages_check(messages, outcomes)
    if not checked:
        return outcomes
    sql = LOG_SQL[connection.vendor]
    with transaction.atomic(), connection.cursor() as cursor:
        rooms = _rooms_lock(cursor, sql, {messages[index].session_id for index, _, _ in checked})
        rows = _messages_number(messages, checked, rooms, outcomes)
        if rows:
            changed = sorted({row["session_id"] for row in rows})
            counters = [{key: rooms[pk][key] for key in ("id", "last_seq", "draw", "speak")} for pk in changed]
            cursor.execute(sql["count"], [json.dumps(counters)])
            cursor.execute(sql["insert"], [json.dumps(rows, ensure_ascii=False)])
    return outcomes


Checked = list[tuple[int, str, dict[str, Any]]]  # a message's index in the batch, its type and its data
Room = dict[str, Any]  # a locked room's id, last_seq, started_at and the student's draw and speak permissions


def _messages_check(messages: Sequence[Message], outcomes: list[Any]) -> Checked:
    """The messages that pass the protocol's check; the others' outcome is their error."""
    checked = []
    for index, message in enumerate(messages):
        try:
            checked.append((index, *_message_check(message)))
        except ServiceError as error:
            outcomes[index] = error
    return checked


def _rooms_lock(cursor: Any, sql: dict[str, str], session_ids: set[int]) -> dict[int, Room]:
    """The batch's open rooms, locked in id order (two processes' batches cannot deadlock)."""
    cursor.execute(sql["lock"], [json.dumps(sorted(session_ids)), TutoringSession.Status.OPEN])
    rooms = {}
    for pk, seq, started_at, draw, speak in cursor.fetchall():
        if timezone.is_naive(started_at):  # SQLite's cursor gives the stored UTC time without its zone
            started_at = timezone.make_aware(started_at, UTC)
        rooms[pk] = {"id": pk, "last_seq": seq, "started_at": started_at, "draw": bool(draw), "speak": bool(speak)}
    return rooms


def _messages_number(
    messages: Sequence[Message], checked: Checked, rooms: dict[int, Room], outcomes: list[Any]
) -> list[dict[str, Any]]:
    """Each checked message of an open room, numbered after its room's last event, as the rows to insert; its
    outcome is the stored event. A student draws only while allowed, after any permission change earlier in the
    batch. A message for an ended room, or a refused drawing, gets its error instead."""
    rows: list[dict[str, Any]] = []
    now = timezone.now()
    for index, kind, data in checked:
        message = messages[index]
        room = rooms.get(message.session_id)
        if room is None:
            outcomes[index] = ServiceError("session_ended", _("This session has ended."), status=409)
            continue
        if message.role == Role.STUDENT and kind in DRAWING and not room["draw"]:
            outcomes[index] = ServiceError("not_allowed", _("The teacher has not let you draw."))
            continue
        if kind == "board.permission":
            room["draw"], room["speak"] = data["student_draw"], data["student_speak"]
        room["last_seq"] += 1
        event = SessionEvent(
            session_id=message.session_id,
            seq=room["last_seq"],
            at_ms=selectors.ms_since_start(room["started_at"], now),
            role=message.role,
            type=kind,
            data=data,
        )
        outcomes[index] = event.as_event()
        rows.append({field: getattr(event, field) for field in ("session_id", "seq", "at_ms", "role", "type", "data")})
    return rows


def _message_check(message: Message) -> tuple[str, dict[str, Any]]:
    """The protocol's check, and that a photo placed or shared is one the sender may use."""
    try:
        kind, data = message_check(message.content, role=message.role)
    except ProtocolError as error:
        raise ServiceError(error.code, error.message) from None
    if kind == "board.background" and data["attachment"] is not None:
        photo = Attachment.objects.filter(
            pk=data["attachment"], question__sessions=message.session_id, kind=Attachment.Kind.PHOTO
        ).exclude(processed="")
        if not photo.exists():
            raise ServiceError("unknown_attachment", _("Only the question's photos can be placed."))
    if kind == "chat.message" and "attachment" in data:
        attachment = ChatAttachment.objects.filter(
            pk=data["attachment"], session=message.session_id, uploaded_by=message.user
        ).first()
        if attachment is None:
            raise ServiceError("unknown_attachment", _("Upload the photo or voice clip first."))
        data["attachment"] = ChatAttachmentSerializer(attachment).data
    return kind, data


def chat_attachment_add(*, session: TutoringSession, user: User, file: IO[bytes]) -> ChatAttachment:
    """A photo or voice clip for the chat, checked like intake uploads and processed before anything is
    stored (so no location data or other metadata is ever written): photos EXIF-transposed, stripped and
    downscaled with a thumbnail; voice clips as AAC. The sender then shares it with a chat message."""
    role = selectors.session_role(session, user)
    if role == Role.OBSERVER:
        raise ServiceError("not_allowed", _("Observers only watch."), status=403)
    if session.status != TutoringSession.Status.OPEN:
        raise ServiceError("session_ended", _("This session has ended."), status=409)
    kind = upload_check(file, kinds={PHOTO, VOICE}, field="file").kind
    with tempfile.TemporaryDirectory(prefix="xuewen-chat-") as scratch:
        directory = Path(scratch)
        try:
            processed = upload_process(upload_local_copy(file, directory / "upload"), kind=kind, directory=directory)
        except MediaProcessingError as error:
            raise upload_refusal(error, "file") from error
        names = upload_files_store(processed, folder=f"sessions/{session.pk}/chat")
    return ChatAttachment.objects.create(
        session=session,
        uploaded_by=user,
        kind=ChatAttachment.Kind.PHOTO if kind == PHOTO else ChatAttachment.Kind.VOICE,
        width=processed.width,
        height=processed.height,
        duration_seconds=processed.duration_seconds,
        **names,
    )


def audio_chunk_save(*, session_id: int, role: str, started_ms: int, pcm: bytes) -> AudioChunk:
    """A few seconds of one side's voice, as received (PCM s16le, 16 kHz, mono)."""
    name = default_storage.save(
        f"sessions/{session_id}/audio/{role}-{started_ms:09d}-{uuid.uuid4().hex[:8]}.pcm", ContentFile(pcm)
    )
    return AudioChunk.objects.create(
        session_id=session_id, role=role, started_ms=started_ms, samples=len(pcm) // 2, file=name
    )


# --- Ending ----------------------------------------------------------------------------------


def session_end(*, teacher: User, ticket_id: int, reason: str = TutoringSession.EndReason.TEACHER) -> None:
    """The teacher is done (or the room was abandoned): the place is free, the facts are written and the
    recording is queued for rendering. A ticket without a room (accepted before rooms existed) just finishes.
    Locks follow the lock order: the question, the room, then the ticket and the duty (``ticket_finish``)."""
    room = TutoringSession.objects.filter(ticket_id=ticket_id, teacher=teacher).values_list("pk", "question_id")
    with transaction.atomic():
        found = room.first()
        if found is None:
            routing.ticket_finish(teacher=teacher, ticket_id=ticket_id)
            return
        session_id, question_id = found
        question_lock(question_id)
        # The room's row locked, with what its state shows read in the same query (``session_state``).
        session = (
            TutoringSession.objects.select_for_update(of=("self",))
            .select_related("teacher", "student", "question__subject")
            .prefetch_related(attachments_prefetch("question__"))
            .get(pk=session_id)
        )
        if session.status == TutoringSession.Status.ENDED:
            raise ServiceError("session_ended", _("This session has ended."), status=409)
        routing.ticket_finish(teacher=teacher, ticket_id=ticket_id)
        now = timezone.now()
        session.status, session.ended_at, session.ended_reason = TutoringSession.Status.ENDED, now, reason
        session.save(update_fields=["status", "ended_at", "ended_reason"])
        _fact(
            SessionFact.Kind.ENDED,
            session,
            user_id=teacher.pk if reason == TutoringSession.EndReason.TEACHER else None,
            at=now,
            reason=reason,
            duration_seconds=round((now - session.started_at).total_seconds(), 3),
            events=session.last_seq,
        )
        recording = Recording.objects.create(session=session)
        from tutoring.sessions import tasks

        queue_on_commit(lambda: tasks.recording_render.delay(recording.pk), what=f"recording_render.{recording.pk}")
        events.session_ended_event_send(session.pk, session_state(session, Role.OBSERVER))
    logger.info("session.ended", extra={"session_id": session.pk, "reason": reason})


def sessions_sweep() -> int:
    """Close sockets that fell silent (a web process died under them), end rooms nobody has been in for
    SESSION_ABANDON_SECONDS, and queue again the renders whose task was lost (``recordings_stalled_requeue``).
    Returns the number of rooms ended."""
    now = timezone.now()
    silent_before = now - timedelta(seconds=settings.XUEWEN["SESSION_SILENT_SECONDS"])
    for channel_name, seen_at in SessionConnection.objects.filter(
        left_at__isnull=True, seen_at__lt=silent_before
    ).values_list("channel_name", "seen_at"):
        session_leave(channel_name=channel_name, at=seen_at)
    empty_since = now - timedelta(seconds=settings.XUEWEN["SESSION_ABANDON_SECONDS"])
    abandoned = (
        TutoringSession.objects.filter(status=TutoringSession.Status.OPEN, started_at__lt=empty_since)
        .exclude(connections__left_at__isnull=True)
        .annotate(last_left=Max("connections__left_at"))
        .values_list("teacher_id", "ticket_id", "last_left")
    )
    ended = 0
    for teacher_id, ticket_id, last_left in abandoned:
        if last_left is None or last_left < empty_since:
            try:
                session_end(
                    teacher=User.objects.get(pk=teacher_id),
                    ticket_id=ticket_id,
                    reason=TutoringSession.EndReason.ABANDONED,
                )
                ended += 1
            except ServiceError:
                continue  # ended meanwhile
    recordings_stalled_requeue()
    return ended


def recordings_stalled_requeue() -> int:
    """Queue rendering again for recordings still waiting to render (or to retry a failed attempt)
    RENDER_GRACE after their session ended, the oldest first. Returns how many were queued."""
    from tutoring.sessions import tasks

    stalled = Recording.objects.filter(
        Q(status=Recording.Status.PENDING) | Q(status=Recording.Status.FAILED, attempts__lt=RENDER_ATTEMPTS),
        session__ended_at__lt=timezone.now() - RENDER_GRACE,
    ).order_by("session__ended_at")
    return stalled_requeue(tasks.recording_render, stalled.values_list("pk", flat=True)[:100], grace=RENDER_GRACE)


# --- After the session -------------------------------------------------------------------------


def session_rate(*, student: User, session_id: int, score: int, comment: str = "") -> TutoringSession:
    with transaction.atomic():
        session = TutoringSession.objects.select_for_update().filter(pk=session_id, student=student).first()
        if session is None:
            raise ServiceError("unknown_session", _("Unknown session."), status=404)
        if session.status != TutoringSession.Status.ENDED:
            raise ServiceError("session_open", _("Rate the session once it has ended."), status=409)
        if session.rating is not None:
            raise ServiceError("already_rated", _("You have already rated this session."), status=409)
        session.rating, session.rating_comment, session.rated_at = score, comment.strip(), timezone.now()
        session.save(update_fields=["rating", "rating_comment", "rated_at"])
        _fact(SessionFact.Kind.RATED, session, user_id=student.pk, score=score, comment=session.rating_comment)
    return session


def session_question_correct(
    *,
    teacher: User,
    session_id: int,
    text: str | None = None,
    subject: str | None = None,
    grade: int | None = None,
    knowledge_points: list[str] | None = None,
) -> TutoringSession:
    """The teacher's wording, subject, grade and knowledge points for the library entry of the recording
    (the student's question stays as asked). A published recording's entry follows."""
    with transaction.atomic():
        session = (
            TutoringSession.objects.select_for_update(of=("self",))
            .select_related("question__subject", "library_subject")
            .filter(pk=session_id, teacher=teacher)
            .first()
        )
        if session is None:
            raise ServiceError("unknown_session", _("Unknown session."), status=404)
        current = selectors.session_library_question(session)
        changed: dict[str, Any] = {}
        if text is not None:  # checked as the library checks it, so publishing cannot fail on it later
            session.library_text = changed["text"] = question_text_check(text)
        if subject is not None or grade is not None:
            row, number = subject_and_grade_check(
                subject=current["subject"] if subject is None else subject,
                grade=current["grade"] if grade is None else grade,
            )
            if subject is not None:
                session.library_subject, changed["subject"] = row, row.code
            if grade is not None:
                session.library_grade = changed["grade"] = number
        if knowledge_points is not None:
            subject_row = session.library_subject or session.question.subject
            points = knowledge_point_resolve(subject=subject_row, labels=knowledge_points)
            session.knowledge_points = changed["knowledge_points"] = [point.name for point in points]
            # The teacher's choice replaces the tagger's on the question too, and teaches the tagger.
            question_knowledge_points_set(
                question=session.question, points=[(point, None) for point in points], source=TagSource.TEACHER
            )
        session.save()
        _fact(SessionFact.Kind.CORRECTED, session, user_id=teacher.pk, **changed)
        recording = (
            Recording.objects.select_for_update().filter(session=session, status=Recording.Status.PUBLISHED).first()
        )
        if recording is not None:
            _recording_publish(recording)
    return session


# --- Recording → video ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredVideo:
    """A board rendered into a video and stored: the names of the video and its poster, its length and size."""

    video: str
    poster: str
    duration_seconds: float
    size_bytes: int


def board_video_store(
    *,
    events: Sequence[dict[str, Any]],
    duration_ms: int,
    voices: Mapping[str, Sequence[tuple[int, FieldFile]]],
    backgrounds: Mapping[int, FieldFile],
    folder: str,
) -> StoredVideo:
    """Render a board log and its voices into an MP4 and a poster, stored in ``folder``: each voice a track of
    stored chunks of PCM (s16le, 16 kHz, mono) at their start in ms, silence between; ``backgrounds`` the stored
    photos that the log's ``board.background`` events place. Raises MediaProcessingError."""
    with tempfile.TemporaryDirectory(prefix="xuewen-recording-") as scratch:
        directory = Path(scratch)
        tracks = []
        for voice, chunks in voices.items():
            if not chunks:
                continue  # a silent voice adds no track
            parts = []
            for started_ms, file in chunks:
                with file.open("rb") as stored:
                    parts.append((started_ms, stored.read()))
            tracks.append(voice_track_write(parts, directory / f"{voice}.wav", sample_rate=AUDIO_SAMPLE_RATE))
        rendered = board_render(
            events=events,
            duration_ms=duration_ms,
            audio_paths=tracks,
            backgrounds={pk: stored_file_local_copy(file, directory) for pk, file in backgrounds.items()},
            dst=directory / "video.mp4",
            poster=directory / "poster.jpg",
        )
        video = default_storage.save(f"{folder}/video.mp4", ContentFile(rendered.video.read_bytes()))
        poster = default_storage.save(f"{folder}/poster.jpg", ContentFile(rendered.poster.read_bytes()))
    return StoredVideo(video, poster, rendered.duration_seconds, rendered.size_bytes)


def recording_render(*, recording_id: int) -> None:
    """Render the log and the voices into an MP4 with a poster; publish it, or wait for the teacher's
    approval. A failure is recorded and retried by the task, RENDER_ATTEMPTS times in all however often it is
    queued; the log and the voices are never deleted."""
    claimed = Recording.objects.filter(
        Q(status=Recording.Status.PENDING) | Q(status=Recording.Status.FAILED, attempts__lt=RENDER_ATTEMPTS),
        pk=recording_id,
    ).update(status=Recording.Status.RENDERING)
    if not claimed:
        return
    recording = Recording.objects.select_related("session").get(pk=recording_id)
    session = recording.session
    Recording.objects.filter(pk=recording_id).update(attempts=recording.attempts + 1)
    replay = selectors.session_replay(session)
    voices: defaultdict[str, list[tuple[int, FieldFile]]] = defaultdict(list)
    for chunk in session.audio_chunks.all():
        voices[chunk.role].append((chunk.started_ms, chunk.file))
    photos = Attachment.objects.filter(question_id=session.question_id, kind=Attachment.Kind.PHOTO).exclude(
        processed=""
    )
    try:
        stored = board_video_store(
            events=replay["events"],
            duration_ms=replay["duration_ms"],
            voices=voices,
            backgrounds={photo.pk: photo.processed for photo in photos},
            folder=f"sessions/{session.pk}",
        )
    except MediaProcessingError as error:
        Recording.objects.filter(pk=recording_id).update(status=Recording.Status.FAILED, error=str(error.message))
        logger.error("recording.failed", extra={"recording_id": recording_id, "reason": error.code})
        raise
    with transaction.atomic():
        recording = Recording.objects.select_for_update().get(pk=recording_id)
        recording.video, recording.poster = stored.video, stored.poster
        recording.duration_seconds, recording.size_bytes = stored.duration_seconds, stored.size_bytes
        recording.rendered_at, recording.error = timezone.now(), ""
        if settings.XUEWEN["RECORDING_APPROVAL"]:
            recording.status = Recording.Status.AWAITING_APPROVAL
            recording.save()
            events.recording_event_send(session.pk, RecordingSerializer(recording).data)
        else:
            recording.save()
            _recording_publish(recording)
    logger.info("recording.rendered", extra={"recording_id": recording_id, "seconds": stored.duration_seconds})


def recording_approve(*, teacher: User, session_id: int) -> Recording:
    with transaction.atomic():
        recording = (
            Recording.objects.select_for_update()
            .filter(session_id=session_id, session__teacher=teacher)
            .select_related("session")
            .first()
        )
        if recording is None:
            raise ServiceError("unknown_session", _("Unknown session."), status=404)
        if recording.status != Recording.Status.AWAITING_APPROVAL:
            raise ServiceError("not_awaiting_approval", _("This recording is not waiting for approval."), status=409)
        _recording_publish(recording)
    return recording


def _recording_publish(recording: Recording) -> None:
    """The recording becomes (or updates) the library entry of its session: the next student with the
    same question is answered by it."""
    session = TutoringSession.objects.select_related("question__subject", "library_subject").get(
        pk=recording.session_id
    )
    video, poster = recording.video.name, recording.poster.name
    if not (video and poster):
        raise ValueError(f"recording {recording.pk} is published before it was rendered")
    entry = entry_video_publish(
        external_id=f"session-{session.pk}",
        **selectors.session_library_question(session),
        video=video,
        poster=poster,
        duration_seconds=recording.duration_seconds or 0.0,
        created_by=session.teacher,
        source_question=session.question,
    )
    first = recording.status != Recording.Status.PUBLISHED
    recording.status, recording.entry = Recording.Status.PUBLISHED, entry
    recording.save(update_fields=["status", "entry"])
    if first:
        _fact(SessionFact.Kind.PUBLISHED, session, user_id=session.teacher_id, entry_id=entry.pk)
    events.recording_event_send(session.pk, RecordingSerializer(recording).data)
