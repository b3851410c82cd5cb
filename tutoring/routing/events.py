"""Routing events for teachers' duty consoles and waiting students, sent after commit."""

from collections.abc import Iterable
from typing import Any, cast

from tutoring.core.events import send_event_on_commit, send_events_on_commit
from tutoring.questions.events import question_group
from tutoring.routing.models import Duty, Offer, Ticket
from tutoring.routing.serializers import AssignedTicketSerializer, DutySerializer, OfferSerializer


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def offers_created_event_send(offers: Iterable[Offer]) -> None:
    send_events_on_commit(
        [
            (user_group(offer.teacher_id), {"type": "offer.created", "offer": OfferSerializer(offer).data})
            for offer in offers
        ]
    )


def offer_closed_event_send(offer: Offer) -> None:
    """The offer left the teacher's screen: accepted elsewhere, declined, expired or withdrawn."""
    send_event_on_commit(
        user_group(offer.teacher_id), {"type": "offer.closed", "offer_id": offer.pk, "status": offer.status}
    )


def _assigned_teacher_id(ticket: Ticket) -> int:
    # An assigned or finished ticket has its teacher; the field is nullable for the tickets that wait.
    return cast(int, ticket.teacher_id)


def ticket_assigned_event_send(ticket: Ticket) -> None:
    send_event_on_commit(
        user_group(_assigned_teacher_id(ticket)),
        {"type": "ticket.assigned", "ticket": AssignedTicketSerializer(ticket).data},
    )


def ticket_finished_event_send(ticket: Ticket) -> None:
    send_event_on_commit(user_group(_assigned_teacher_id(ticket)), {"type": "ticket.finished", "ticket_id": ticket.pk})


def duty_state_event_send(duty: Duty) -> None:
    send_event_on_commit(user_group(duty.teacher_id), {"type": "duty.state", "duty": DutySerializer(duty).data})


def queue_positions_event_send(positions: list[tuple[int, dict[str, Any]]]) -> None:
    """Waiting students' new places in the queue, by question id."""
    send_events_on_commit(
        [
            (question_group(question_id), {"type": "queue.position", "queue": position})
            for question_id, position in positions
        ]
    )
