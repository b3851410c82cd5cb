import pytest

from tests.factories import QuestionFactory, ShiftFactory
from tutoring.questions.models import Question
from tutoring.routing import services as routing
from tutoring.routing.models import Offer
from tutoring.sessions import services
from tutoring.sessions.models import TutoringSession

# A teacher's finished pen stroke, as a client sends it.
STROKE = {
    "v": 1,
    "type": "board.stroke",
    "stroke": "t1",
    "page": 0,
    "tool": "pen",
    "color": "#1a1a1a",
    "width": 4,
    "points": [[100, 100, 0], [300, 100, 120]],
    "end": True,
}


@pytest.fixture
def open_session():  # type: ignore[no-untyped-def]
    """A room opened the real way: a teacher on duty accepts the offer of a waiting question."""

    def make(**question) -> TutoringSession:  # type: ignore[no-untyped-def]
        shift = ShiftFactory()
        routing.duty_connect(teacher=shift.teacher, channel_name=f"console-{shift.teacher.pk}")
        routing.duty_available_set(teacher=shift.teacher, available=True)
        defaults = {"status": Question.Status.WAITING_TEACHER, "text": "3加5等于几？"}
        ticket = routing.ticket_enqueue(question=QuestionFactory(**(defaults | question)))
        routing.dispatch(subject_id=ticket.subject_id)
        offer = Offer.objects.get(ticket=ticket)
        session = services.session_start(teacher=shift.teacher, offer_id=offer.pk)
        return TutoringSession.objects.select_related("teacher", "student", "question").get(pk=session.pk)

    return make
