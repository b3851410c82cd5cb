import pytest
from django.db import transaction

from tests.factories import EntryFactory, QuestionFactory
from tutoring.core.errors import ServiceError
from tutoring.library.models import Match
from tutoring.questions.lifecycle import TRANSITIONS, question_lock, question_match_settle, question_transition
from tutoring.questions.models import Question
from tutoring.routing.models import RoutingFact, Ticket

pytestmark = pytest.mark.django_db

Status = Question.Status


def test_the_table_names_every_status_and_only_statuses():
    assert set(TRANSITIONS) == set(Status.values)
    assert set().union(*TRANSITIONS.values()) <= set(Status.values)
    assert TRANSITIONS[Status.ANSWERED] == frozenset()


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (Status.ANSWERED, Status.WAITING_TEACHER),
        (Status.RESOLVED, Status.WITH_TEACHER),
        (Status.RECEIVED, Status.WAITING_TEACHER),
        (Status.WITH_TEACHER, Status.CANCELLED),
        (Status.FAILED, Status.RESOLVED),
    ],
)
def test_a_move_the_table_refuses_is_refused_in_chinese_and_changes_nothing(
    current, target, django_capture_on_commit_callbacks
):
    question = QuestionFactory(status=current, text="3加5等于几？")

    with django_capture_on_commit_callbacks(execute=False) as sent, pytest.raises(ServiceError) as refused:
        question_transition(question=question, to=target, text="别的题")

    question.refresh_from_db()
    assert (refused.value.code, refused.value.status) == ("invalid_transition", 409)
    assert str(refused.value.message) == (
        f"这个问题现在是“{Status(current).label}”，不能变为“{Status(target).label}”。"
    )
    assert (question.status, question.text) == (current, "3加5等于几？")
    assert sent == []
    assert Ticket.objects.count() == 0


def test_a_refused_move_leaves_the_callers_transaction_usable():
    question = QuestionFactory(status=Status.ANSWERED)

    with transaction.atomic():
        locked = question_lock(question.pk)
        with pytest.raises(ServiceError):
            question_transition(question=locked, to=Status.WAITING_TEACHER)
        locked.refresh_from_db()  # a query in the same transaction still works

    assert locked.status == Status.ANSWERED


def test_the_move_is_decided_by_the_stored_status_not_a_stale_copy():
    question = QuestionFactory(status=Status.WAITING_TEACHER)
    stale = Question.objects.get(pk=question.pk)
    question_transition(question=question, to=Status.RESOLVED)

    with pytest.raises(ServiceError) as refused:
        question_transition(question=stale, to=Status.WITH_TEACHER)  # the copy still says waiting

    assert refused.value.code == "invalid_transition"
    assert Question.objects.get(pk=question.pk).status == Status.RESOLVED


def test_waiting_for_a_teacher_queues_the_question_and_solving_it_takes_it_out(django_capture_on_commit_callbacks):
    question = QuestionFactory(status=Status.UNDERSTOOD, match_outcome="similar")

    with django_capture_on_commit_callbacks(execute=False) as sent:
        question_transition(question=question, to=Status.WAITING_TEACHER)
    question_transition(question=question, to=Status.RESOLVED)

    assert list(Ticket.objects.values_list("question_id", "status")) == [(question.pk, "cancelled")]
    assert list(RoutingFact.objects.order_by("id").values_list("kind", flat=True)) == ["queued", "cancelled"]
    assert len(sent) == 3  # the student's page, a dispatch pass and a queue-position refresh


def test_an_understood_question_is_matched_and_its_unjudged_matches_go(django_capture_on_commit_callbacks):
    question = QuestionFactory(status=Status.UNDERSTOOD, text="3加5等于几？", match_outcome="similar")
    Match.objects.create(
        question=question,
        entry=EntryFactory(),
        rank=0,
        score=0.8,
        dense=0.8,
        lexical=0.8,
        label="similar",
    )

    with django_capture_on_commit_callbacks(execute=False) as sent:
        question_transition(question=question, to=Status.UNDERSTOOD, match_outcome="", matched_at=None)

    question.refresh_from_db()
    assert (question.status, question.match_outcome, question.matched_at) == (Status.UNDERSTOOD, "", None)
    assert Match.objects.filter(question=question).count() == 0
    assert len(sent) == 2  # the match task, then the student's page


def test_a_match_that_fits_shows_and_one_that_does_not_waits_for_a_teacher():
    shown = QuestionFactory(status=Status.UNDERSTOOD)
    unmatched = QuestionFactory(status=Status.UNDERSTOOD)

    question_match_settle(question=shown, outcome="similar")
    question_match_settle(question=unmatched, outcome="none")

    shown.refresh_from_db()
    unmatched.refresh_from_db()
    assert (shown.status, shown.match_outcome) == (Status.UNDERSTOOD, "similar")
    assert (unmatched.status, unmatched.match_outcome) == (Status.WAITING_TEACHER, "none")
    assert list(Ticket.objects.values_list("question_id", flat=True)) == [unmatched.pk]
