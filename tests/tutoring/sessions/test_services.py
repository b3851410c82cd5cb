from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, transaction
from django.utils import timezone

from media.errors import MediaProcessingError
from media.video import video_probe
from tests.embedded import embedded_call
from tests.factories import AttachmentFactory, knowledge_points_named, message_append, opened_session
from tests.samples import STROKE
from tutoring.core.errors import ServiceError
from tutoring.library.models import Answer, Entry
from tutoring.questions.models import Question
from tutoring.routing.models import Duty, Ticket
from tutoring.sessions import services
from tutoring.sessions.models import (
    AudioChunk,
    Recording,
    SessionConnection,
    SessionEvent,
    SessionFact,
    TutoringSession,
)

pytestmark = pytest.mark.django_db


def facts(session: TutoringSession) -> list[str]:
    return list(session.facts.order_by("id").values_list("kind", flat=True))


def test_accepting_an_offer_opens_a_room_for_exactly_that_teacher_and_student():
    session = opened_session()

    ticket = Ticket.objects.get()
    assert (session.ticket_id, session.teacher_id, session.student_id) == (
        ticket.pk,
        ticket.teacher_id,
        session.question.student_id,
    )
    assert (session.status, session.last_seq, session.started_at) == ("open", 0, ticket.assigned_at)
    assert ticket.status == "assigned"
    assert Question.objects.get().status == "with_teacher"
    assert facts(session) == ["started"]


def test_messages_are_numbered_stored_and_returned_as_events():
    session = opened_session()

    stroke = message_append(session_id=session.pk, user=session.teacher, role="teacher", content=STROKE)
    chat = message_append(
        session_id=session.pk,
        user=session.student,
        role="student",
        content={"v": 1, "type": "chat.message", "text": " 懂了 ", "ref": "c1"},
    )

    assert (stroke["seq"], stroke["by"], stroke["points"], stroke["stroke"]) == (1, "teacher", STROKE["points"], "t1")
    assert {key: chat[key] for key in ("seq", "by", "type", "text", "ref")} == {
        "seq": 2,
        "by": "student",
        "type": "chat.message",
        "text": "懂了",
        "ref": "c1",
    }
    assert [event.as_event() for event in SessionEvent.objects.all()] == [stroke, chat]
    assert TutoringSession.objects.get().last_seq == 2


def test_the_student_draws_only_when_allowed_and_only_their_own_strokes():
    session = opened_session()
    student_stroke = {**STROKE, "stroke": "s1"}

    with pytest.raises(ServiceError) as before:
        message_append(session_id=session.pk, user=session.student, role="student", content=student_stroke)
    allow = {"v": 1, "type": "board.permission", "student_draw": True, "student_speak": False}
    message_append(session_id=session.pk, user=session.teacher, role="teacher", content=allow)
    drawn = message_append(session_id=session.pk, user=session.student, role="student", content=student_stroke)
    with pytest.raises(ServiceError) as theirs:
        message_append(session_id=session.pk, user=session.student, role="student", content=STROKE)
    with pytest.raises(ServiceError) as undo:
        message_append(
            session_id=session.pk,
            user=session.student,
            role="student",
            content={"v": 1, "type": "board.undo", "target": "t9"},
        )
    with pytest.raises(ServiceError) as page:
        message_append(
            session_id=session.pk,
            user=session.student,
            role="student",
            content={"v": 1, "type": "board.page", "page": 1},
        )

    assert [error.value.code for error in (before, theirs, undo, page)] == ["not_allowed"] * 4
    assert drawn["seq"] == 2
    assert list(SessionEvent.objects.values_list("seq", "type")) == [(1, "board.permission"), (2, "board.stroke")]
    assert TutoringSession.objects.get().student_draw is True


def log_batch() -> dict:
    """One batch as a busy web process hands it over: two rooms and an ended one, a student who may draw
    only after the teacher's permission earlier in the same batch, and a bad message among good ones."""
    first, second, ended = opened_session(), opened_session(), opened_session()
    TutoringSession.objects.filter(pk=ended.pk).update(status=TutoringSession.Status.ENDED)
    student_stroke = {**STROKE, "stroke": "s1"}
    allow = {"v": 1, "type": "board.permission", "student_draw": True, "student_speak": False}
    chat = {"v": 1, "type": "chat.message", "text": "懂了"}
    outcomes = services.session_messages_append(
        [
            services.Message(first.pk, first.teacher, "teacher", STROKE),
            services.Message(second.pk, second.teacher, "teacher", STROKE),
            services.Message(first.pk, first.student, "student", student_stroke),
            services.Message(first.pk, first.teacher, "teacher", allow),
            services.Message(first.pk, first.student, "student", student_stroke),
            services.Message(first.pk, first.teacher, "teacher", {**STROKE, "color": "red"}),
            services.Message(ended.pk, ended.teacher, "teacher", STROKE),
            services.Message(second.pk, second.student, "student", chat),
        ]
    )
    rooms = {first.pk: "first", second.pk: "second", ended.pk: "ended"}
    return {
        "outcomes": [
            outcome.code if isinstance(outcome, ServiceError) else [outcome["seq"], outcome["by"], outcome["type"]]
            for outcome in outcomes
        ],
        "log": [
            [rooms[event.session_id], event.seq, event.role, event.type]
            for event in SessionEvent.objects.order_by("session_id", "seq")
        ],
        "rooms": [
            [rooms[room.pk], room.last_seq, room.student_draw] for room in TutoringSession.objects.order_by("pk")
        ],
        "chat": SessionEvent.objects.get(type="chat.message").data,
    }


LOG_BATCH = {
    "outcomes": [
        [1, "teacher", "board.stroke"],
        [1, "teacher", "board.stroke"],
        "not_allowed",
        [2, "teacher", "board.permission"],
        [3, "student", "board.stroke"],
        "invalid_message",
        "session_ended",
        [2, "student", "chat.message"],
    ],
    "log": [
        ["first", 1, "teacher", "board.stroke"],
        ["first", 2, "teacher", "board.permission"],
        ["first", 3, "student", "board.stroke"],
        ["second", 1, "teacher", "board.stroke"],
        ["second", 2, "student", "chat.message"],
    ],
    "rooms": [["first", 3, True], ["second", 2, False], ["ended", 0, False]],
    "chat": {"text": "懂了"},
}


def test_a_batch_numbers_each_room_in_order_and_refuses_only_its_bad_messages():
    assert log_batch() == LOG_BATCH


def test_the_log_is_written_the_same_way_on_the_embedded_database(tmp_path):
    """The demo runs on SQLite, whose JSON functions differ: the same batch there, in a fresh process."""
    assert embedded_call("tests.tutoring.sessions.test_services", "log_batch", tmp_path) == LOG_BATCH


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ({**STROKE, "v": 2}, "unsupported_version"),
        ({**STROKE, "type": "board.explode"}, "unknown_type"),
        ({**STROKE, "points": []}, "invalid_message"),
        ({**STROKE, "points": [[0, 0, 5], [1, 1, 4]]}, "invalid_message"),  # time goes back
        ({**STROKE, "points": [[1201, 0, 0]]}, "invalid_message"),
        ({**STROKE, "color": "red"}, "invalid_message"),
        ({**STROKE, "width": 0}, "invalid_message"),
        ({**STROKE, "stroke": "t 1"}, "invalid_message"),
        ({"v": 1, "type": "chat.message", "text": "x" * 1001}, "invalid_message"),
        (
            {"v": 1, "type": "board.background", "page": 0, "attachment": 999, "x": 0, "y": 0, "width": 600},
            "unknown_attachment",
        ),
    ],
)
def test_a_bad_message_is_refused_and_nothing_changes(content, code):
    session = opened_session()

    with pytest.raises(ServiceError) as refused:
        message_append(session_id=session.pk, user=session.teacher, role="teacher", content=content)

    assert refused.value.code == code
    assert SessionEvent.objects.count() == 0
    assert TutoringSession.objects.get().last_seq == 0


def test_the_question_photo_can_be_the_background():
    session = opened_session()
    photo = AttachmentFactory(question=session.question, processed="questions/p.jpg")
    place = {"v": 1, "type": "board.background", "page": 0, "attachment": photo.pk, "x": 10, "y": 20, "width": 600}

    event = message_append(session_id=session.pk, user=session.teacher, role="teacher", content=place)

    assert (event["attachment"], event["x"], event["width"]) == (photo.pk, 10, 600)


def test_ending_frees_the_place_records_the_facts_and_queues_the_recording():
    session = opened_session()
    message_append(session_id=session.pk, user=session.teacher, role="teacher", content=STROKE)

    services.session_end(teacher=session.teacher, ticket_id=session.ticket_id)

    session.refresh_from_db()
    assert (session.status, session.ended_reason) == ("ended", "teacher")
    assert (Ticket.objects.get().status, Question.objects.get().status) == ("finished", "answered")
    assert Duty.objects.get(teacher=session.teacher).load == 0
    assert Recording.objects.get(session=session).status == "pending"
    ended = session.facts.get(kind="ended")
    assert (ended.user_id, ended.data["reason"], ended.data["events"]) == (session.teacher_id, "teacher", 1)
    with pytest.raises(ServiceError) as again:
        services.session_end(teacher=session.teacher, ticket_id=session.ticket_id)
    assert again.value.code == "session_ended"
    with pytest.raises(ServiceError) as late:
        message_append(session_id=session.pk, user=session.teacher, role="teacher", content=STROKE)
    assert late.value.code == "session_ended"
    assert SessionEvent.objects.count() == 1


def test_the_student_rates_once_after_the_end():
    session = opened_session()
    with pytest.raises(ServiceError) as early:
        services.session_rate(student=session.student, session_id=session.pk, score=5)
    services.session_end(teacher=session.teacher, ticket_id=session.ticket_id)

    services.session_rate(student=session.student, session_id=session.pk, score=4, comment=" 讲得清楚 ")
    with pytest.raises(ServiceError) as twice:
        services.session_rate(student=session.student, session_id=session.pk, score=1)

    session.refresh_from_db()
    assert (early.value.code, twice.value.code) == ("session_open", "already_rated")
    assert (session.rating, session.rating_comment) == (4, "讲得清楚")
    assert session.facts.get(kind="rated").data == {"score": 4, "comment": "讲得清楚"}


def test_a_room_left_empty_ends_itself(settings):
    settings.XUEWEN = {**settings.XUEWEN, "SESSION_ABANDON_SECONDS": 60}
    session = opened_session()
    services.session_join(session=session, user=session.teacher, channel_name="teacher-socket")
    services.session_leave(channel_name="teacher-socket")
    long_ago = timezone.now() - timedelta(minutes=5)
    TutoringSession.objects.update(started_at=long_ago)
    SessionConnection.objects.update(left_at=long_ago)

    ended = services.sessions_sweep()

    session.refresh_from_db()
    assert (ended, session.status, session.ended_reason) == (1, "ended", "abandoned")
    assert facts(session) == ["started", "joined", "left", "ended"]


def test_a_socket_silenced_by_a_dead_server_counts_as_gone():
    session = opened_session()
    services.session_join(session=session, user=session.student, channel_name="student-socket")
    SessionConnection.objects.update(seen_at=timezone.now() - timedelta(minutes=5))

    services.sessions_sweep()

    assert SessionConnection.objects.get().left_at is not None
    assert facts(session) == ["started", "joined", "left"]


def test_the_log_and_the_facts_cannot_be_changed():
    session = opened_session()
    message_append(session_id=session.pk, user=session.teacher, role="teacher", content=STROKE)

    for rows in (SessionEvent.objects.all(), SessionFact.objects.all()):
        with pytest.raises(DatabaseError), transaction.atomic():
            rows.update(at=timezone.now()) if rows.model is SessionFact else rows.update(type="board.clear")
        with pytest.raises(DatabaseError), transaction.atomic():
            rows.delete()

    assert SessionEvent.objects.get().type == "board.stroke"


def test_the_recording_becomes_a_library_video_with_the_teachers_corrections(settings):
    settings.XUEWEN = {**settings.XUEWEN, "RECORDING_APPROVAL": False}
    session = opened_session()
    message_append(session_id=session.pk, user=session.teacher, role="teacher", content=STROKE)
    services.audio_chunk_save(session_id=session.pk, role="teacher", started_ms=0, pcm=b"\x10\x00" * 16_000)
    TutoringSession.objects.update(started_at=timezone.now() - timedelta(seconds=3))
    services.session_end(teacher=session.teacher, ticket_id=session.ticket_id)
    (addition,) = knowledge_points_named(["加法"])
    services.session_question_correct(
        teacher=session.teacher, session_id=session.pk, text="3 + 5 = ?", knowledge_points=["加法"]
    )

    services.recording_render(recording_id=Recording.objects.get().pk)

    recording = Recording.objects.get()
    entry = Entry.objects.get()
    answer = Answer.objects.get()
    assert (recording.status, recording.entry_id, recording.attempts) == ("published", entry.pk, 1)
    assert (entry.external_id, entry.text, entry.source_question_id) == (
        f"session-{session.pk}",
        "3 + 5 = ?",
        session.question_id,
    )
    # The teacher's point, on the entry and on the student's question: what the tagger learns from.
    assert [(tag.point, tag.source) for tag in entry.knowledge_point_tags.all()] == [(addition, "teacher")]
    assert [(tag.point, tag.source) for tag in session.question.knowledge_point_tags.all()] == [(addition, "teacher")]
    assert (answer.kind, answer.status, answer.video.name, answer.poster.name) == (
        "video",
        "ready",
        recording.video.name,
        recording.poster.name,
    )
    probe = video_probe(recording.video.path)
    assert (probe.width, probe.height, probe.has_audio) == (720, 960, True)
    assert abs(probe.duration_seconds - recording.duration_seconds) < 0.1
    assert 2.9 < recording.duration_seconds < 4.5
    assert AudioChunk.objects.count() == 1  # the recording's sources stay
    assert facts(session) == ["started", "ended", "corrected", "published"]

    services.session_question_correct(teacher=session.teacher, session_id=session.pk, text="三加五等于几？")
    assert (Entry.objects.get().text, Answer.objects.count()) == ("三加五等于几？", 1)


def test_a_failed_render_is_recorded_and_can_run_again():
    session = opened_session()
    broken = default_storage.save("questions/broken.jpg", ContentFile(b"not a photo"))
    photo = AttachmentFactory(question=session.question, processed=broken)
    place = {"v": 1, "type": "board.background", "page": 0, "attachment": photo.pk, "x": 0, "y": 0, "width": 600}
    message_append(session_id=session.pk, user=session.teacher, role="teacher", content=place)
    services.session_end(teacher=session.teacher, ticket_id=session.ticket_id)
    recording = Recording.objects.get()

    with pytest.raises(MediaProcessingError):
        services.recording_render(recording_id=recording.pk)
    with pytest.raises(MediaProcessingError):
        services.recording_render(recording_id=recording.pk)  # the task's retry

    recording.refresh_from_db()
    assert (recording.status, recording.attempts, recording.video.name) == ("failed", 2, "")
    assert recording.error != ""
    assert (Entry.objects.count(), SessionEvent.objects.count()) == (0, 1)  # the log stays
