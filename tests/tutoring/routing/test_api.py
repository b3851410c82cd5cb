import pytest
from django.urls import reverse

from tests.factories import QuestionFactory, StudentFactory
from tutoring.questions.models import Question
from tutoring.routing import services
from tutoring.routing.models import RoutingFact, Ticket

pytestmark = pytest.mark.django_db


def waiting() -> Question:
    question = QuestionFactory(status=Question.Status.WAITING_TEACHER)
    services.ticket_enqueue(question=question)
    return question


def test_the_student_stops_waiting(client):
    question = waiting()
    client.force_login(question.student)

    response = client.post(reverse("routing:stop-waiting", args=[question.pk]))

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert Ticket.objects.get().status == "cancelled"


def test_stopping_twice_is_a_conflict_that_changes_nothing(client):
    question = waiting()
    client.force_login(question.student)
    client.post(reverse("routing:stop-waiting", args=[question.pk]))

    response = client.post(reverse("routing:stop-waiting", args=[question.pk]))

    assert (response.status_code, response.json()["error"]["code"]) == (409, "not_waiting")
    assert RoutingFact.objects.filter(kind="cancelled").count() == 1


def test_another_student_cannot_stop_someone_elses_wait(client):
    question = waiting()
    client.force_login(StudentFactory())

    response = client.post(reverse("routing:stop-waiting", args=[question.pk]))

    assert response.status_code == 404
    assert Ticket.objects.get().status == "waiting"
    assert Question.objects.get(pk=question.pk).status == "waiting_teacher"
