"""Reads of duty and routing: queue positions and wait estimates, a teacher's console state."""

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.conf import settings
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from tutoring.accounts.models import User
from tutoring.questions.selectors import attachments_prefetch
from tutoring.routing.models import Duty, Offer, Shift, Ticket

HISTORY = 50  # finished answers the typical answer time is taken from


@dataclass(frozen=True)
class BandCapacity:
    teachers: int
    slots: int  # students the on-duty teachers of the band can take at once
    free: int


def answer_seconds_typical(subject_id: int) -> float:
    """The mean answer time of the subject's last finished answers, or the assumed one without history."""
    # A ticket is finished only once assigned, so both times are set (the fields are nullable for waiting tickets).
    spans = cast(
        list[tuple[datetime, datetime]],
        list(
            Ticket.objects.filter(subject_id=subject_id, status=Ticket.Status.FINISHED)
            .order_by("-finished_at")
            .values_list("assigned_at", "finished_at")[:HISTORY]
        ),
    )
    if not spans:
        return settings.XUEWEN["ANSWER_MINUTES_ASSUMED"] * 60.0
    return sum((finished - assigned).total_seconds() for assigned, finished in spans) / len(spans)


def band_capacities(subject_id: int) -> dict[int | None, BandCapacity]:
    rows = (
        Duty.objects.filter(on_duty=True, subject_id=subject_id)
        .values("grade_band_id")
        .annotate(teachers=Count("id"), slots=Sum("capacity"), busy=Sum(F("load") + F("offered")))
        .order_by()
    )
    return {
        row["grade_band_id"]: BandCapacity(row["teachers"], row["slots"], max(0, row["slots"] - row["busy"]))
        for row in rows
    }


def next_shift_start(subject_id: int, grade_band_id: int | None) -> datetime | None:
    shifts = Shift.objects.filter(subject_id=subject_id, starts_at__gt=timezone.now())
    if grade_band_id is not None:
        shifts = shifts.filter(grade_band_id=grade_band_id)
    return shifts.order_by("starts_at").values_list("starts_at", flat=True).first()


EXACT_UP_TO = 20


def position_rounded(position: int) -> int:
    """Places beyond the first 20 are shown rounded up (to 10s, beyond 100 to 50s): "about 120 ahead" tells
    a student as much as 117, and every assignment at the head of a long queue no longer changes, and so
    re-sends, every waiting student's place."""
    if position <= EXACT_UP_TO:
        return position
    step = 10 if position <= 100 else 50
    return math.ceil(position / step) * step


def position_describe(
    position: int, capacity: BandCapacity | None, answer_seconds: float, next_shift: datetime | None
) -> dict[str, Any]:
    """What a waiting student is shown: place in the queue, estimated wait, and whether anyone is on duty.

    The estimate assumes the band's busy teachers free a place every ``answer_seconds / slots`` on average:
    a student within the free places is offered at once, the others wait for ``ahead / slots`` answers.
    """
    if capacity is None or capacity.slots == 0:
        estimate = None
    elif position <= capacity.free:
        estimate = 0
    else:
        estimate = math.ceil((position - capacity.free) / capacity.slots * answer_seconds)
    shown = position_rounded(position)
    return {
        "position": shown,
        "exact": shown == position,
        "estimate_seconds": estimate,
        "teachers_on_duty": capacity.teachers if capacity else 0,
        "next_shift_at": next_shift.isoformat() if next_shift and (capacity is None or not capacity.teachers) else None,
    }


def queue_positions(subject_id: int) -> list[tuple[Ticket, dict[str, Any]]]:
    """Every queued ticket of a subject with what its student should be shown, oldest first."""
    tickets = list(
        Ticket.objects.filter(subject_id=subject_id, status__in=Ticket.QUEUED)
        .order_by("queued_at", "id")
        .only("id", "question_id", "grade_band_id", "notified_position")
    )
    if not tickets:
        return []
    capacities = band_capacities(subject_id)
    answer_seconds = answer_seconds_typical(subject_id)
    positions: dict[int | None, int] = defaultdict(int)
    next_shifts: dict[int | None, datetime | None] = {}
    described = []
    for ticket in tickets:
        band = ticket.grade_band_id
        positions[band] += 1
        capacity = capacities.get(band)
        if (capacity is None or not capacity.teachers) and band not in next_shifts:
            next_shifts[band] = next_shift_start(subject_id, band)
        described.append((ticket, position_describe(positions[band], capacity, answer_seconds, next_shifts.get(band))))
    return described


def ticket_position(ticket: Ticket) -> dict[str, Any]:
    """The queue state of one waiting ticket, for a student who (re)connects."""
    ahead = Ticket.objects.filter(
        Q(queued_at__lt=ticket.queued_at) | Q(queued_at=ticket.queued_at, id__lt=ticket.pk),
        subject_id=ticket.subject_id,
        grade_band_id=ticket.grade_band_id,
        status__in=Ticket.QUEUED,
    )
    capacity = band_capacities(ticket.subject_id).get(ticket.grade_band_id)
    next_shift = None if capacity and capacity.teachers else next_shift_start(ticket.subject_id, ticket.grade_band_id)
    return position_describe(ahead.count() + 1, capacity, answer_seconds_typical(ticket.subject_id), next_shift)


def ticket_queued_for_question(question_id: int) -> Ticket | None:
    return Ticket.objects.filter(question_id=question_id, status__in=Ticket.QUEUED).first()


def duty_get(teacher: User) -> Duty:
    """The teacher's duty state (it exists once the teacher has opened the duty console)."""
    return Duty.objects.select_related("subject", "grade_band").get(teacher=teacher)


def shift_list_coming(teacher: User, *, limit: int = 20) -> list[Shift]:
    return list(
        Shift.objects.filter(teacher=teacher, ends_at__gt=timezone.now())
        .select_related("subject", "grade_band")
        .order_by("starts_at")[:limit]
    )


def offer_list_open(teacher: User) -> list[Offer]:
    return list(
        Offer.objects.filter(teacher=teacher, status=Offer.Status.OPEN, expires_at__gt=timezone.now())
        .select_related("ticket__question__subject")
        .prefetch_related(attachments_prefetch("ticket__question__"))
        .order_by("created_at")
    )


def ticket_list_assigned(teacher: User) -> list[Ticket]:
    return list(
        Ticket.objects.filter(teacher=teacher, status=Ticket.Status.ASSIGNED)
        .select_related("question__subject", "session")
        .prefetch_related(attachments_prefetch("question__"))
        .order_by("assigned_at")
    )
