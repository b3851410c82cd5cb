import pytest
from asgiref.sync import sync_to_async

from tests.factories import QuestionFactory, ShiftFactory, StudentFactory
from tests.sockets import communicator, socket
from tutoring.questions.models import Question
from tutoring.routing import services
from tutoring.routing.models import Duty, DutyConnection, RoutingFact

# Transactional: consumers reach the database from other threads. Serialized rollback keeps the reference data.
pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.asyncio]


async def console(teacher):
    ws = await socket("/ws/duty/", teacher)
    connected, _ = await ws.connect()
    assert connected is True
    snapshot = await ws.receive_json_from(timeout=5)
    assert snapshot["type"] == "duty.snapshot"
    return ws, snapshot


async def receive(ws, kind: str, **expected) -> dict:
    """The next event of this type (and with these values in its payload); others come and go in between."""
    seen = []
    while True:
        try:
            event = await ws.receive_json_from(timeout=10)
        except TimeoutError:
            raise AssertionError(f"no {kind} {expected} among {seen}") from None
        seen.append(event)
        payload = next((value for value in event.values() if isinstance(value, dict)), {})
        if event["type"] == kind and all(payload.get(key) == value for key, value in expected.items()):
            return event


async def on_duty_console(teacher):
    ws, snapshot = await console(teacher)
    await ws.send_json_to({"type": "duty.available", "available": True})
    state = await receive(ws, "duty.state", on_duty=True)
    return ws, snapshot, state


@sync_to_async
def waiting_question() -> Question:
    question = QuestionFactory(status=Question.Status.WAITING_TEACHER, typed_text="3加5等于几？", text="3加5等于几？")
    services.ticket_enqueue(question=question)
    return question


async def test_a_teacher_goes_on_duty_and_receives_an_offer_then_accepts():
    shift = await sync_to_async(ShiftFactory)(capacity=2)
    ws, snapshot, state = await on_duty_console(shift.teacher)
    question = await waiting_question()
    student = await communicator(question.pk, question.student)
    await student.connect()
    await student.receive_json_from(timeout=5)  # question.status
    position = await student.receive_json_from(timeout=5)

    await sync_to_async(services.dispatch)(subject_id=question.subject_id)
    offer = await receive(ws, "offer.created")
    await ws.send_json_to({"type": "offer.accept", "offer_id": offer["offer"]["id"]})
    assigned = await receive(ws, "ticket.assigned")
    notice = await student.receive_json_from(timeout=5)
    await ws.disconnect()
    await student.disconnect()

    assert (snapshot["duty"]["on_duty"], snapshot["offers"], snapshot["heartbeat_seconds"]) == (False, [], 10)
    assert [shift["capacity"] for shift in snapshot["shifts"]] == [2]
    assert (state["duty"]["on_duty"], state["duty"]["capacity"], state["duty"]["subject_name"]) == (True, 2, "数学")
    assert position == {
        "type": "queue.position",
        "queue": {"position": 1, "exact": True, "estimate_seconds": 0, "teachers_on_duty": 1, "next_shift_at": None},
    }
    assert (offer["offer"]["question"]["text"], offer["offer"]["policy"]) == ("3加5等于几？", "auto")
    assert "student" not in offer["offer"]["question"]
    assert (assigned["ticket"]["question"]["id"], assigned["ticket"]["status"]) == (question.pk, "assigned")
    assert (notice["type"], notice["question"]["status"]) == ("question.status", "with_teacher")


async def test_a_student_cannot_open_a_duty_console():
    student = await sync_to_async(StudentFactory)()
    ws = await socket("/ws/duty/", student)

    await ws.connect()
    closed = await ws.receive_output()
    await ws.disconnect()

    assert closed == {"type": "websocket.close", "code": 4403}
    assert await sync_to_async(Duty.objects.count)() == 0


async def test_bad_messages_are_answered_and_the_console_stays_on_duty():
    shift = await sync_to_async(ShiftFactory)()
    ws, _, _ = await on_duty_console(shift.teacher)

    replies = []
    for message in (
        {"type": "offer.accept"},
        {"type": "offer.accept", "offer_id": "7"},
        {"type": "duty.available", "available": "yes"},
        {"type": "session.hijack"},
        {"type": "offer.accept", "offer_id": 999999},
    ):
        await ws.send_json_to(message)
        replies.append(await receive(ws, "error"))
    await ws.send_to(text_data="{not json")
    replies.append(await receive(ws, "error"))
    on_duty = await sync_to_async(lambda: Duty.objects.get(teacher=shift.teacher).on_duty)()
    await ws.disconnect()

    assert [reply["code"] for reply in replies] == [
        "invalid_message",
        "invalid_message",
        "invalid_message",
        "unknown_type",
        "unknown_offer",
        "invalid_json",
    ]
    assert on_duty is True


async def test_a_console_reopened_after_a_drop_shows_the_open_offer_and_accepts_it():
    shift = await sync_to_async(ShiftFactory)()
    ws, _, _ = await on_duty_console(shift.teacher)
    question = await waiting_question()
    await sync_to_async(services.dispatch)(subject_id=question.subject_id)
    offer = await receive(ws, "offer.created")
    await ws.disconnect()

    again, snapshot = await console(shift.teacher)
    await again.send_json_to({"type": "offer.accept", "offer_id": offer["offer"]["id"]})
    assigned = await receive(again, "ticket.assigned")
    await again.disconnect()

    assert snapshot["duty"]["on_duty"] is True
    assert [o["id"] for o in snapshot["offers"]] == [offer["offer"]["id"]]
    assert assigned["ticket"]["question"]["id"] == question.pk
    kinds = await sync_to_async(lambda: list(RoutingFact.objects.values_list("kind", flat=True)))()
    assert kinds == ["presence_started", "queued", "offered", "accepted"]


async def test_a_heartbeat_after_being_dropped_as_silent_reconnects():
    shift = await sync_to_async(ShiftFactory)()
    ws, _, _ = await on_duty_console(shift.teacher)
    await sync_to_async(DutyConnection.objects.all().delete)()

    await ws.send_json_to({"type": "duty.heartbeat"})
    snapshot = await receive(ws, "duty.snapshot")
    await ws.disconnect()

    assert snapshot["duty"]["on_duty"] is True
