"""A question's life: its statuses, the moves allowed between them, and the one function that makes every move.

- received → processing (its photos read, its voice heard) → understood, or failed; a student who types the
  text moves a received, processing or failed question to understood;
- understood → resolved (a match solved it) or waiting_teacher (nothing fits, or 还是不会); understood → understood
  when the student corrects the text (it is matched anew);
- waiting_teacher → with_teacher (a teacher accepted) → answered; waiting_teacher → resolved (解决了 after all)
  or cancelled (the student stopped waiting); resolved and cancelled → waiting_teacher (还是不会), cancelled →
  resolved.

``TRANSITIONS`` is the whole table. ``question_transition`` is the only writer of ``Question.status``: the
questions app calls it for understanding and corrections, the library for matching and the student's verdict
on the matches, routing for queueing, accepting and finishing. Apps above questions react to its moves through
listeners they register when they load (``question_status_listen``): the library matches a question that was
understood, routing queues one that waits for a teacher and takes one that was solved or given up out of the
queue. So questions imports none of them, and following one question means reading this table.

Lock order. A transaction that locks several rows of a question's life takes them in this order: the question
(``question_lock``), its session room, its ticket, the ticket's offers, the teachers' duty rows; a session's
recording and then its library entry come after the session. A transaction that needs only later rows starts
further down the list (a dispatch pass: tickets, then duties; an offer's expiry: ticket, offer, duty), and
several rows of one table are locked in id order. Two transactions therefore never wait for each other in a
circle: 解决了 or stopping the wait (question, then ticket) and a teacher's accept (question, ticket, offer,
duty) queue on the question row instead of deadlocking (``tests/tutoring/questions/test_lock_order.py``).
"""

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tutoring.core.errors import ServiceError
from tutoring.questions.events import question_status_event_send
from tutoring.questions.models import Question

logger = logging.getLogger(__name__)

Status = Question.Status

TRANSITIONS: dict[str, frozenset[str]] = {
    Status.RECEIVED: frozenset({Status.PROCESSING, Status.UNDERSTOOD}),  # read, or typed by the student first
    Status.PROCESSING: frozenset({Status.PROCESSING, Status.UNDERSTOOD, Status.FAILED}),  # a redelivered task resumes
    Status.FAILED: frozenset({Status.UNDERSTOOD}),  # the student types what could not be read or heard
    # Understood again after a correction (matched anew), solved by a match, or on to a teacher.
    Status.UNDERSTOOD: frozenset({Status.UNDERSTOOD, Status.RESOLVED, Status.WAITING_TEACHER}),
    Status.RESOLVED: frozenset({Status.WAITING_TEACHER}),  # 还是不会 after 解决了
    Status.WAITING_TEACHER: frozenset({Status.RESOLVED, Status.CANCELLED, Status.WITH_TEACHER}),
    Status.CANCELLED: frozenset({Status.RESOLVED, Status.WAITING_TEACHER}),
    Status.WITH_TEACHER: frozenset({Status.ANSWERED}),
    Status.ANSWERED: frozenset(),
}
_SOURCES: dict[str, list[str]] = {
    target: [source for source, targets in TRANSITIONS.items() if target in targets] for target in Status
}

StatusListener = Callable[[Question], None]
_LISTENERS: list[StatusListener] = []


def question_status_listen(listener: StatusListener) -> None:
    """Call ``listener(question)`` after every move, inside the move's transaction with the question locked, so
    what it locks comes after the question. Apps above questions register when they load (AppConfig.ready)."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def question_lock(question_id: int) -> Question:
    """The question's row, locked until the transaction ends: the first lock of the order above."""
    return Question.objects.select_for_update().get(pk=question_id)


def question_transition(*, question: Question, to: str, **changes: Any) -> Question:
    """Move ``question`` to status ``to``, with ``changes`` to its own fields that go with the move (its text
    when understood, its match outcome when it waits for a teacher), in the caller's transaction. Returns the
    question as its viewers now see it (read anew, with everything its serializer shows); ``question`` itself
    gets the new status and ``changes`` too.

    The move is one conditional UPDATE (the status must be one ``TRANSITIONS`` allows to reach ``to``), so it
    holds however stale ``question`` is and takes the question's row lock. A move the table does not allow
    raises ``ServiceError("invalid_transition")`` (409) and changes nothing. Then the listeners react, and the
    question's viewers are told its new state once the transaction commits.
    """
    with transaction.atomic(savepoint=False):
        moved = Question.objects.filter(pk=question.pk, status__in=_SOURCES[to]).update(status=to, **changes)
        if moved:
            question.status = to
            for field, value in changes.items():
                setattr(question, field, value)
            for listener in _LISTENERS:
                listener(question)
            shown = question_status_event_send(question)
    if not moved:  # raised outside the block: a caller's transaction stays usable
        current = Question.objects.values_list("status", flat=True).get(pk=question.pk)
        raise ServiceError(
            "invalid_transition",
            _("This question is %(current)s and cannot become %(target)s.")
            % {"current": Status(current).label, "target": Status(to).label},
            status=409,
        )
    logger.info("question.moved", extra={"question_id": question.pk, "status": to})
    return shown


def question_match_settle(*, question: Question, outcome: str) -> Question:
    """Matching's result settles on an understood question (caller's transaction, question locked): with no
    answered question that fits, it waits for a teacher; otherwise the student sees the matches and judges.
    Returns the question as its viewers now see it."""
    now = timezone.now()
    if outcome == Question.MatchOutcome.NONE:
        return question_transition(question=question, to=Status.WAITING_TEACHER, match_outcome=outcome, matched_at=now)
    Question.objects.filter(pk=question.pk).update(match_outcome=outcome, matched_at=now)
    question.match_outcome, question.matched_at = outcome, now
    return question_status_event_send(question)
