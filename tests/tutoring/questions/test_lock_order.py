"""One lock order for the rows a question touches (question → session → ticket → offer → duty), run for real:
students say 解决了, 还是不会 or stop waiting at the very moment their teacher accepts, many questions at once,
each call on its own PostgreSQL connection. No deadlock, no question both solved and assigned, no place leaked."""

import contextlib
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections, transaction
from django.db.models import Count, Q

from tests.factories import QuestionFactory, ShiftFactory
from tutoring.core.errors import ServiceError
from tutoring.library.services import question_feedback
from tutoring.questions.models import Question
from tutoring.routing import services as routing
from tutoring.routing.models import Duty, Offer, Ticket
from tutoring.sessions.services import session_start

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

TEACHERS = 4
QUESTIONS = 16  # raced at once: two connections each
ROUNDS = 4
OPEN_TICKET = ("waiting", "offered", "assigned")


def waiting_questions(count: int) -> list[tuple[Question, Offer]]:
    """Questions whose matches did not help, each waiting with an offer to one of the teachers."""
    questions = [
        QuestionFactory(status=Question.Status.WAITING_TEACHER, text="3加5等于几？", match_outcome="similar")
        for _ in range(count)
    ]
    for question in questions:
        with transaction.atomic():
            routing.ticket_enqueue(question=question)
    routing.dispatch(subject_id=questions[0].subject_id)
    offers = {offer.ticket.question_id: offer for offer in Offer.objects.filter(status="open").select_related("ticket")}
    return [(question, offers[question.pk]) for question in questions]


def student_moves(question: Question, rng: random.Random) -> list[Callable[[], Any]]:
    """解决了, 还是不会 after 解决了, or stopping the wait: what a student may do while a teacher accepts."""
    resolve = lambda: question_feedback(question=question, choice="resolved")  # noqa: E731
    stuck = lambda: question_feedback(question=question, choice="still_stuck")  # noqa: E731
    cancel = lambda: routing.ticket_cancel(question=question)  # noqa: E731
    return rng.choice([[resolve], [resolve, stuck], [cancel], [cancel, stuck], [stuck]])


def race(pairs: list[tuple[Question, Offer]], rng: random.Random) -> list[BaseException]:
    """Every student's moves and every teacher's accept start together; returns what was not a ServiceError."""
    calls: list[list[Callable[[], Any]]] = []
    for question, offer in pairs:
        calls.append(student_moves(question, rng))
        calls.append([lambda offer=offer: session_start(teacher=offer.teacher, offer_id=offer.pk)])
    start = threading.Barrier(len(calls))
    unexpected: list[BaseException] = []

    def run(steps: list[Callable[[], Any]]) -> None:
        start.wait()
        try:
            for step in steps:
                with contextlib.suppress(ServiceError):  # refused because the other side won: as it should be
                    step()
        except BaseException as error:  # a deadlock, or any other database error
            unexpected.append(error)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        list(pool.map(run, calls))
    return unexpected


def test_solving_and_stopping_while_a_teacher_accepts_never_deadlocks_nor_leaks():
    for _ in range(TEACHERS):  # on duty with room for every question they are offered
        teacher = ShiftFactory(capacity=20).teacher
        routing.duty_connect(teacher=teacher, channel_name=f"console-{teacher.pk}")
        routing.duty_available_set(teacher=teacher, available=True)
    rng = random.Random(7)

    unexpected: list[BaseException] = []
    for _ in range(ROUNDS):
        unexpected += race(waiting_questions(QUESTIONS), rng)

    assert unexpected == []
    tickets = Question.objects.annotate(
        open_tickets=Count("tickets", filter=Q(tickets__status__in=OPEN_TICKET)),
        assigned=Count("tickets", filter=Q(tickets__status="assigned")),
        queued=Count("tickets", filter=Q(tickets__status__in=("waiting", "offered"))),
    )
    for question in tickets:
        expected = {
            "with_teacher": (1, 1, 0),
            "waiting_teacher": (1, 0, 1),
            "resolved": (0, 0, 0),
            "cancelled": (0, 0, 0),
        }[question.status]
        assert (question.open_tickets, question.assigned, question.queued) == expected, question.status
    for duty in Duty.objects.all():
        assigned = Ticket.objects.filter(teacher_id=duty.teacher_id, status="assigned").count()
        offered = Offer.objects.filter(teacher_id=duty.teacher_id, status="open", policy="auto").count()
        assert (duty.load, duty.offered) == (assigned, offered)
        assert duty.load <= duty.capacity
    assert not Offer.objects.filter(status="open").exclude(ticket__status__in=("waiting", "offered")).exists()
