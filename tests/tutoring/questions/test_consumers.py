import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from tests.factories import QuestionFactory, StudentFactory, TeacherFactory
from tests.sockets import communicator
from tutoring.questions.models import Question
from tutoring.questions.services import question_text_correct, question_understand

# Transactional: consumers reach the database from other threads. Serialized rollback keeps the reference data.
pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.asyncio]


async def test_student_gets_the_current_state_then_every_change():
    question = await sync_to_async(QuestionFactory)(typed_text="3加5等于几？")
    ws = await communicator(question.pk, question.student)

    connected, _ = await ws.connect()
    snapshot = await ws.receive_json_from()
    await sync_to_async(question_understand)(question_id=question.pk)
    processing = await ws.receive_json_from(timeout=5)
    understood = await ws.receive_json_from(timeout=5)
    await ws.disconnect()

    assert connected is True
    assert (snapshot["type"], snapshot["question"]["id"], snapshot["question"]["status"]) == (
        "question.status",
        question.pk,
        "received",
    )
    assert processing["question"]["status"] == "processing"
    assert (
        understood["question"]["status"],
        understood["question"]["text"],
        understood["question"]["text_source"],
    ) == (
        "understood",
        "3加5等于几？",
        "typed",
    )


async def test_a_correction_reaches_the_open_socket():
    question = await sync_to_async(QuestionFactory)(status=Question.Status.FAILED)
    ws = await communicator(question.pk, question.student)
    await ws.connect()
    await ws.receive_json_from()

    await sync_to_async(question_text_correct)(question=question, text="小明有12个苹果")
    event = await ws.receive_json_from(timeout=5)
    await ws.disconnect()

    assert (event["question"]["status"], event["question"]["text"]) == ("understood", "小明有12个苹果")


async def refusal(ws: WebsocketCommunicator) -> dict:
    """Refusals are accepted then closed at once, so browsers see the close code."""
    await ws.connect()
    closed = await ws.receive_output()
    await ws.disconnect()
    return closed


async def test_anonymous_socket_is_refused():
    question = await sync_to_async(QuestionFactory)()
    ws = await communicator(question.pk)

    assert await refusal(ws) == {"type": "websocket.close", "code": 4401}


async def test_another_students_question_is_refused_and_sends_nothing():
    question = await sync_to_async(QuestionFactory)()
    stranger = await sync_to_async(StudentFactory)()
    ws = await communicator(question.pk, stranger)

    assert await refusal(ws) == {"type": "websocket.close", "code": 4404}
    assert await ws.receive_nothing() is True


async def test_a_teacher_of_another_subject_is_refused():
    question = await sync_to_async(QuestionFactory)()
    teacher = await sync_to_async(TeacherFactory)(teaching=(["chinese"], ["primary-middle"]))
    ws = await communicator(question.pk, teacher)

    assert await refusal(ws) == {"type": "websocket.close", "code": 4404}


async def test_foreign_origin_is_refused():
    question = await sync_to_async(QuestionFactory)()
    ws = await communicator(question.pk, question.student, origin=b"http://evil.example")

    connected, _ = await ws.connect()
    await ws.disconnect()  # the refused application ends here, not in the event loop's teardown

    assert connected is False


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_message"),
        ('{"no": "type"}', "invalid_message"),
        ('{"type": "question.delete"}', "unknown_type"),
        ("x" * 70_000, "invalid_message"),
    ],
    ids=["not-json", "not-an-object", "no-type", "unknown-type", "too-large"],
)
async def test_bad_messages_get_an_error_and_the_connection_stays(message, code):
    question = await sync_to_async(QuestionFactory)()
    ws = await communicator(question.pk, question.student)
    await ws.connect()
    await ws.receive_json_from()

    await ws.send_to(text_data=message)
    error = await ws.receive_json_from()
    await ws.send_json_to({"type": "ping"})
    pong = await ws.receive_json_from()
    await ws.disconnect()

    assert (error["type"], error["code"]) == ("error", code)
    assert pong == {"type": "pong"}
    assert await sync_to_async(Question.objects.filter(pk=question.pk, status=Question.Status.RECEIVED).count)() == 1
