import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import DatabaseError

from tests.factories import AdministratorFactory, StudentFactory, TeacherFactory, message_append, opened_session
from tests.samples import STROKE
from tests.sockets import next_of, refused_code, socket
from tutoring.sessions import services
from tutoring.sessions.models import AudioChunk, SessionEvent, SessionFact

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.asyncio]


async def enter(session, user, after: int = 0):
    ws = await socket(f"/ws/sessions/{session.pk}/?after={after}", user)
    connected, _ = await ws.connect()
    assert connected is True
    snapshot = await ws.receive_json_from(timeout=5)
    assert snapshot["type"] == "session.snapshot"
    return ws, snapshot


async def stored_log(read):
    """Read the database at the end of a test, closing the sync thread's connection after (else it would
    outlive the test and keep the test database from being dropped)."""
    return await database_sync_to_async(read)()


async def test_only_the_participants_and_staff_enter():
    session = await sync_to_async(opened_session)()
    others = [await sync_to_async(StudentFactory)(), await sync_to_async(TeacherFactory)()]

    codes = [await refused_code(f"/ws/sessions/{session.pk}/", other) for other in others]
    observer, snapshot = await enter(session, await sync_to_async(AdministratorFactory)())
    await observer.send_json_to(STROKE)
    refusal = await next_of(observer, "error")
    await observer.disconnect()

    assert codes == [4404, 4404]
    assert (snapshot["session"]["role"], snapshot["session"]["question"]["text"]) == ("observer", "3加5等于几？")
    assert "student" not in snapshot["session"]["question"]
    assert refusal["code"] == "not_allowed"
    assert await sync_to_async(SessionEvent.objects.count)() == 0


async def test_a_stroke_is_stored_then_relayed_and_a_reconnect_gets_what_it_missed():
    session = await sync_to_async(opened_session)()
    teacher, _ = await enter(session, session.teacher)
    student, snapshot = await enter(session, session.student)
    presence = await next_of(teacher, "session.presence")
    if not presence["presence"]["student"]:  # the teacher's own arrival came first
        presence = await next_of(teacher, "session.presence")

    await teacher.send_json_to(STROKE)
    seen = await next_of(student, "board.stroke")
    echo = await next_of(teacher, "board.stroke")
    await student.disconnect()
    await teacher.send_json_to({**STROKE, "stroke": "t2"})
    await next_of(teacher, "board.stroke")
    again, resumed = await enter(session, session.student, after=seen["seq"])
    await again.disconnect()
    await teacher.disconnect()

    assert (snapshot["session"]["role"], snapshot["last_seq"], snapshot["events"]) == ("student", 0, [])
    assert presence["presence"] == {"teacher": True, "student": True}
    assert (seen["seq"], seen["by"], seen["points"]) == (1, "teacher", STROKE["points"])
    assert echo == seen
    assert ([e["stroke"] for e in resumed["events"]], resumed["last_seq"]) == (["t2"], 2)
    kinds = await sync_to_async(lambda: list(SessionFact.objects.order_by("id").values_list("kind", flat=True)))()
    assert kinds == ["started", "joined", "joined", "left", "joined", "left", "left"]


async def test_bad_messages_are_answered_and_the_room_stays_usable():
    session = await sync_to_async(opened_session)()
    student, _ = await enter(session, session.student)

    await student.send_json_to({**STROKE, "stroke": "s1"})  # not allowed to draw yet
    not_allowed = await next_of(student, "error")
    await student.send_to(text_data="{not json")
    invalid = await next_of(student, "error")
    await student.send_json_to({"v": 1, "type": "chat.message", "text": "老师好", "ref": "c1"})
    chat = await next_of(student, "chat.message")
    await student.disconnect()

    assert (not_allowed["code"], invalid["code"]) == ("not_allowed", "invalid_json")
    assert (chat["text"], chat["ref"], chat["seq"]) == ("老师好", "c1", 1)


async def test_the_teachers_voice_reaches_the_student_and_is_recorded():
    session = await sync_to_async(opened_session)()
    teacher, _ = await enter(session, session.teacher)
    student, _ = await enter(session, session.student)
    frame = b"\x01\x02" * 1600  # 100 ms

    await teacher.send_to(bytes_data=frame)
    heard = await student.receive_output(timeout=5)
    while "bytes" not in heard:  # presence events come and go
        heard = await student.receive_output(timeout=5)
    await student.send_to(bytes_data=frame)  # not allowed to speak
    refused = await next_of(student, "error")
    await teacher.disconnect()
    await student.disconnect()

    assert heard == {"type": "websocket.send", "bytes": frame}
    assert refused["code"] == "not_allowed"
    chunks = await sync_to_async(lambda: list(AudioChunk.objects.values_list("role", "samples")))()
    assert chunks == [("teacher", 1600)]


async def test_a_flood_of_messages_is_limited_without_closing_the_room(settings):
    settings.XUEWEN = {**settings.XUEWEN, "SESSION_MESSAGES_PER_SECOND": 1}  # bursts of 2
    session = await sync_to_async(opened_session)()
    teacher, _ = await enter(session, session.teacher)

    for number in range(5):
        await teacher.send_json_to({"v": 1, "type": "chat.message", "text": f"第{number}条"})
    replies = []
    while len(replies) < 5:
        reply = await teacher.receive_json_from(timeout=5)
        if reply["type"] != "session.presence":  # the teacher's own arrival
            replies.append(reply)
    await teacher.disconnect()

    kinds = sorted(reply.get("code", reply["type"]) for reply in replies)
    assert kinds == ["chat.message", "chat.message", "rate_limited", "rate_limited", "rate_limited"]
    assert await sync_to_async(SessionEvent.objects.count)() == 2


async def test_an_event_stored_before_its_sender_knew_of_a_new_socket_still_reaches_it():
    session = await sync_to_async(opened_session)()
    student, snapshot = await enter(session, session.student)

    # Stored by a teacher's socket that had not yet learnt of the student's: nothing was relayed to it.
    await sync_to_async(message_append)(session_id=session.pk, user=session.teacher, role="teacher", content=STROKE)
    caught_up = await next_of(student, "board.stroke")
    await student.disconnect()

    assert snapshot["last_seq"] == 0
    assert (caught_up["seq"], caught_up["stroke"]) == (1, "t1")


async def test_a_failed_write_is_answered_and_the_next_message_is_stored(monkeypatch):
    session = await sync_to_async(opened_session)()
    teacher, _ = await enter(session, session.teacher)
    store = services.session_messages_append
    failures = iter([DatabaseError("the server closed the connection")])

    def failing_once(messages):
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return store(messages)

    monkeypatch.setattr(services, "session_messages_append", failing_once)
    await teacher.send_json_to({**STROKE, "ref": "r1"})
    refused = await next_of(teacher, "error")
    await teacher.send_json_to({**STROKE, "ref": "r2"})
    stored = await next_of(teacher, "board.stroke")
    await teacher.disconnect()

    assert (refused["code"], refused["ref"]) == ("not_stored", "r1")
    assert (stored["ref"], stored["seq"]) == ("r2", 1)
    assert await stored_log(lambda: list(SessionEvent.objects.values_list("seq", "data__ref"))) == [(1, "r2")]


async def test_what_a_socket_sent_just_before_closing_reaches_the_room():
    session = await sync_to_async(opened_session)()
    teacher, _ = await enter(session, session.teacher)
    student, _ = await enter(session, session.student)

    for number in range(3):
        await teacher.send_json_to({**STROKE, "ref": f"r{number}"})
    await teacher.disconnect()
    seen = [(await next_of(student, "board.stroke"))["ref"] for _ in range(3)]
    await student.disconnect()

    assert seen == ["r0", "r1", "r2"]
    assert await stored_log(lambda: list(SessionEvent.objects.values_list("seq", flat=True))) == [1, 2, 3]
