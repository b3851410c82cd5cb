"""Writes of duty and live routing.

Exactly once: a ticket is assigned by one transaction that locks its question, the ticket and the offer, and
takes a place of the teacher's capacity with a conditional update (``load < capacity``); the database refuses
a second open ticket for a question. Locks follow the one order of ``tutoring.questions.lifecycle`` (question,
ticket, offer, duty), so accepts, declines, expiries, cancellations and the student's verdicts never deadlock.
Pairing questions with teachers (``dispatch``) runs under a PostgreSQL advisory lock per subject, held by the
pass's database session: two dispatchers, in any process, never pair the same ticket or teacher twice, and a
trigger that commits while a pass runs queues another pass.

Every state change is committed before anyone is told (events go out on commit), and every fact is appended
to ``RoutingFact``.
"""

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from tutoring.accounts.models import StudentProfile, User
from tutoring.core.errors import ServiceError
from tutoring.core.queueing import queue_on_commit
from tutoring.questions.lifecycle import question_lock, question_transition
from tutoring.questions.models import Question
from tutoring.questions.selectors import attachments_prefetch
from tutoring.routing import events, selectors
from tutoring.routing.models import Duty, DutyConnection, Offer, RoutingFact, Shift, Ticket
from tutoring.schools.models import City, District, GradeBand, School, Subject
from tutoring.schools.selectors import subject_find

logger = logging.getLogger(__name__)

ADVISORY_NAMESPACE = 7_140_001  # pg_advisory_lock(namespace, subject id): one dispatcher per subject
PENDING_SECONDS = 60  # a queued pass whose task was lost is replaced by the sweep's pass anyway
WIDEST = 2  # widen levels: 0 the question's grade band, 1 the neighbouring bands too, 2 any teacher of the subject


def _fact(
    kind: str,
    *,
    teacher_id: int | None = None,
    ticket: Ticket | None = None,
    offer: Offer | None = None,
    at: datetime | None = None,
    **data: Any,
) -> None:
    RoutingFact.objects.create(
        kind=kind, teacher_id=teacher_id, ticket=ticket, offer=offer, at=at or timezone.now(), data=data
    )


def _queue_once(key: str, send: Callable[[], object]) -> None:
    """After commit, queue a task with `send` unless one it queued has not started yet (the task deletes `key`
    when it starts): a burst of triggers needs one run, since each run reads the whole state."""
    queue_on_commit(lambda: cache.add(key, 1, timeout=PENDING_SECONDS) and send(), what=key)


def _dispatch_later(subject_id: int) -> None:
    from tutoring.routing import tasks

    _queue_once(dispatch_pending_key(subject_id), lambda: tasks.dispatch.delay(subject_id))


def _positions_later(subject_id: int) -> None:
    """Refresh waiting students' positions once per QUEUE_UPDATE_SECONDS at most, however many changes."""
    from tutoring.routing import tasks

    _queue_once(
        positions_pending_key(subject_id),
        lambda: tasks.queue_positions_send.apply_async(
            (subject_id,), countdown=settings.XUEWEN["QUEUE_UPDATE_SECONDS"]
        ),
    )


def dispatch_pending_key(subject_id: int) -> str:
    return f"routing.dispatch.{subject_id}"


def positions_pending_key(subject_id: int) -> str:
    return f"routing.positions.{subject_id}"


# --- The queue ------------------------------------------------------------------------------


def ticket_enqueue(*, question: Question) -> Ticket:
    """Put a question in the live queue, inside the caller's transaction; a queued question stays as it is."""
    open_ticket = Ticket.objects.filter(question=question, status__in=(*Ticket.QUEUED, Ticket.Status.ASSIGNED)).first()
    if open_ticket is not None:
        return open_ticket
    profile = StudentProfile.objects.select_related("school__district").filter(user_id=question.student_id).first()
    school = profile.school if profile else None
    ticket = Ticket.objects.create(
        question=question,
        subject_id=question.subject_id,
        grade=question.grade,
        grade_band=GradeBand.objects.filter(min_grade__lte=question.grade, max_grade__gte=question.grade).first(),
        school=school,
        district=school.district if school else None,
        city_id=school.district.city_id if school else None,
    )
    _fact(RoutingFact.Kind.QUEUED, ticket=ticket, question_id=question.pk)
    _dispatch_later(ticket.subject_id)
    _positions_later(ticket.subject_id)
    logger.info("ticket.queued", extra={"ticket_id": ticket.pk, "question_id": question.pk})
    return ticket


def ticket_leave(*, question: Question) -> Ticket | None:
    """Take the question out of the queue, if it is queued, and withdraw its offers (caller's transaction)."""
    ticket = Ticket.objects.select_for_update().filter(question=question, status__in=Ticket.QUEUED).first()
    if ticket is None:
        return None
    _offers_withdraw(ticket)
    ticket.status = Ticket.Status.CANCELLED
    ticket.save(update_fields=["status"])
    _fact(RoutingFact.Kind.CANCELLED, ticket=ticket, waited_seconds=_seconds(ticket.queued_at))
    _positions_later(ticket.subject_id)
    logger.info("ticket.cancelled", extra={"ticket_id": ticket.pk})
    return ticket


def question_moved(question: Question) -> None:
    """Listens to every move of a question (``question_status_listen``), in its transaction with the question
    locked: one that waits for a teacher is queued, one solved or given up leaves the queue."""
    if question.status == Question.Status.WAITING_TEACHER:
        ticket_enqueue(question=question)
    elif question.status in (Question.Status.RESOLVED, Question.Status.CANCELLED):
        ticket_leave(question=question)


def ticket_cancel(*, question: Question) -> Question:
    """The student stops waiting (the question is theirs: the caller checked)."""
    with transaction.atomic():
        question = question_lock(question.pk)
        if question.status != Question.Status.WAITING_TEACHER:
            raise ServiceError("not_waiting", _("This question is not waiting for a teacher."), status=409)
        question_transition(question=question, to=Question.Status.CANCELLED)  # takes it out of the queue
    return question


def ticket_finish(*, teacher: User, ticket_id: int) -> Ticket:
    """The teacher has answered: the place is free for the next student."""
    with transaction.atomic():
        question_id = Ticket.objects.filter(pk=ticket_id, teacher=teacher).values_list("question_id", flat=True).first()
        if question_id is None:
            raise ServiceError("unknown_ticket", _("Unknown question."), status=404)
        question = question_lock(question_id)
        ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
        if ticket.status != Ticket.Status.ASSIGNED:
            raise ServiceError("not_assigned", _("This question is not being answered."), status=409)
        now = timezone.now()
        ticket.status = Ticket.Status.FINISHED
        ticket.finished_at = now
        ticket.save(update_fields=["status", "finished_at"])
        Duty.objects.filter(teacher=teacher, load__gt=0).update(load=F("load") - 1)
        Duty.objects.filter(teacher=teacher, load=0).update(idle_since=now)
        _fact(
            RoutingFact.Kind.FINISHED,
            teacher_id=teacher.pk,
            ticket=ticket,
            at=now,
            answered_seconds=_seconds(ticket.assigned_at, now) if ticket.assigned_at else None,
        )
        question_transition(question=question, to=Question.Status.ANSWERED)
        events.ticket_finished_event_send(ticket)
        events.duty_state_event_send(selectors.duty_get(teacher))
        _dispatch_later(ticket.subject_id)
    return ticket


def _seconds(start: datetime, end: datetime | None = None) -> float:
    return round(((end or timezone.now()) - start).total_seconds(), 3)


# --- Shifts ---------------------------------------------------------------------------------


def shift_check(
    *,
    teacher: User,
    subject: Subject,
    grade_band: GradeBand,
    city: City,
    district: District | None,
    school: School | None,
    starts_at: datetime,
    ends_at: datetime,
    shift_id: int | None = None,
) -> None:
    """The rules of a duty shift, for whoever schedules one (the admin, an API): it ends after it starts, its
    district is in its city and its school in its district, the teacher teaches its subject and grade band,
    and it overlaps none of the teacher's other shifts. Raises ServiceError naming the rule broken.

    The teacher's user row is locked first, in the caller's transaction: until it commits nobody else can
    schedule an overlapping shift for them (the admin's form check and its save share one transaction)."""
    User.objects.select_for_update().filter(pk=teacher.pk).first()
    if ends_at <= starts_at:
        raise ServiceError("shift_ends_before_start", _("A shift must end after it starts."), field="ends_at")
    if district is not None and district.city_id != city.pk:
        raise ServiceError("district_not_in_city", _("The district is not in this city."), field="district")
    if school is not None and (district is None or school.district_id != district.pk):
        raise ServiceError("school_not_in_district", _("Choose the school's district too."), field="school")
    profile = getattr(teacher, "teacher_profile", None)
    if (
        profile is None
        or not profile.subjects.filter(pk=subject.pk).exists()
        or not profile.grade_bands.filter(pk=grade_band.pk).exists()
    ):
        raise ServiceError(
            "not_their_subject", _("The teacher does not teach this subject and grade band."), field="teacher"
        )
    overlapping = Shift.objects.filter(teacher=teacher, starts_at__lt=ends_at, ends_at__gt=starts_at)
    if shift_id is not None:
        overlapping = overlapping.exclude(pk=shift_id)
    if overlapping.exists():
        raise ServiceError("shift_overlap", _("The teacher already has a shift at this time."), field="starts_at")


def shift_save(*, shift: Shift, created_by: User | None = None) -> Shift:
    """Schedule a shift, or change one, if it keeps the rules of ``shift_check``."""
    with transaction.atomic():
        shift_check(
            teacher=shift.teacher,
            subject=shift.subject,
            grade_band=shift.grade_band,
            city=shift.city,
            district=shift.district,
            school=shift.school,
            starts_at=shift.starts_at,
            ends_at=shift.ends_at,
            shift_id=shift.pk,
        )
        if shift.pk is None:
            shift.created_by = created_by
        shift.save()
    logger.info("shift.saved", extra={"shift_id": shift.pk, "teacher_id": shift.teacher_id})
    return shift


# --- Dispatch -------------------------------------------------------------------------------


@contextmanager
def _subject_locked(subject_id: int) -> Iterator[None]:
    """One dispatcher per subject at a time, in any process: a PostgreSQL session advisory lock (released
    when the pass ends, or when a dying worker's connection closes)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [ADVISORY_NAMESPACE, subject_id])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [ADVISORY_NAMESPACE, subject_id])


def _bands_near(band: GradeBand | None, bands: list[GradeBand]) -> set[int]:
    """The band and its neighbours (the next grades below and above)."""
    if band is None:
        return set()
    return {
        other.pk for other in bands if other.min_grade <= band.max_grade + 1 and other.max_grade >= band.min_grade - 1
    }


def _serves(duty: Duty, ticket: Ticket, near: dict[int | None, set[int]]) -> bool:
    """Whether the duty may answer the ticket: its scope covers the student, its band fits the widen level."""
    if duty.city_id is not None and ticket.city_id is not None and duty.city_id != ticket.city_id:
        return False
    if duty.district_id is not None and duty.district_id != ticket.district_id:
        return False
    if duty.school_id is not None and duty.school_id != ticket.school_id:
        return False
    if ticket.widen_level >= WIDEST:
        return True
    if ticket.widen_level == 1:
        return duty.grade_band_id in near[ticket.grade_band_id]
    return ticket.grade_band_id is not None and duty.grade_band_id == ticket.grade_band_id


def dispatch(*, subject_id: int) -> int:
    """Offer the subject's waiting questions, oldest (and so re-queued) first, to free on-duty teachers.

    Auto-assign: each question to the eligible teacher with the most free places, then the longest idle; the
    offer reserves the place until it is answered. Open offer (抢答): each question to every eligible teacher
    with a free place, at most OPEN_OFFERS_SHOWN at once per teacher; the first to accept gets it.
    Returns the number of offers made.
    """
    cache.delete(dispatch_pending_key(subject_id))  # a trigger from now on queues the next pass
    with _subject_locked(subject_id):
        planner = _Planner.for_subject(subject_id)
        if planner is None:
            return 0  # nobody of the subject on duty
        made = 0
        for tickets in _queue_chunks(subject_id, planner.queued):
            if not any(planner.has_room(duty) for duty in planner.duties):
                break  # every teacher is busy: nothing more to offer, however long the queue
            made += _offers_make(planner.plan(tickets), planner.policy, planner.queued)
    if made:
        logger.info("routing.dispatched", extra={"subject_id": subject_id, "offers": made})
    return made


@dataclass
class _Planner:
    """One dispatch pass's view of a subject: its on-duty teachers with a console open, its routing policy, and
    the open offers each teacher is shown (抢答). Plans offers chunk by chunk, counting what it planned."""

    duties: list[Duty]
    policy: str
    shown: Counter[int]
    near: dict[int | None, set[int]]
    now: datetime = field(default_factory=timezone.now)  # a teacher never idle yet ranks as idle since now

    @classmethod
    def for_subject(cls, subject_id: int) -> "_Planner | None":
        duties = list(
            Duty.objects.filter(on_duty=True, subject_id=subject_id).filter(
                Exists(DutyConnection.objects.filter(teacher_id=OuterRef("teacher_id"), closed_at__isnull=True))
            )
        )
        if not duties:
            return None
        policy = Subject.objects.values_list("routing_policy", flat=True).get(pk=subject_id)
        open_offers = Offer.objects.filter(teacher__in=[d.teacher_id for d in duties], status=Offer.Status.OPEN)
        shown = Counter(
            open_offers.values_list("teacher_id", flat=True) if policy == Subject.RoutingPolicy.OPEN else []
        )
        bands = list(GradeBand.objects.all())
        near: dict[int | None, set[int]] = {band.pk: _bands_near(band, bands) for band in bands}
        return cls(duties, policy, shown, near | {None: set()})

    @property
    def queued(self) -> tuple[str, ...]:
        """The tickets a pass offers: 抢答 shows offered questions to more teachers; auto-assign waits for an
        answer to its one offer."""
        return Ticket.QUEUED if self.policy == Subject.RoutingPolicy.OPEN else (Ticket.Status.WAITING,)

    def has_room(self, duty: Duty) -> bool:
        if self.policy == Subject.RoutingPolicy.OPEN:
            return duty.load < duty.capacity and self.shown[duty.teacher_id] < settings.XUEWEN["OPEN_OFFERS_SHOWN"]
        return duty.free > 0

    def plan(self, tickets: list[Ticket]) -> list[tuple[Ticket, Duty]]:
        """Who each ticket of a chunk goes to: every eligible teacher with room (抢答), or the one with the most
        free places, then the longest idle (auto); never a teacher it was offered to before."""
        offered = set(Offer.objects.filter(ticket__in=[t.pk for t in tickets]).values_list("ticket_id", "teacher_id"))
        plan: list[tuple[Ticket, Duty]] = []
        for ticket in tickets:
            candidates = [
                duty
                for duty in self.duties
                if self.has_room(duty)
                and (ticket.pk, duty.teacher_id) not in offered
                and _serves(duty, ticket, self.near)
            ]
            if self.policy == Subject.RoutingPolicy.OPEN:
                for duty in candidates:
                    plan.append((ticket, duty))
                    self.shown[duty.teacher_id] += 1
            elif candidates:
                best = min(candidates, key=lambda duty: (-duty.free, duty.idle_since or self.now, duty.pk))
                best.offered += 1
                plan.append((ticket, best))
        return plan


def _queue_chunks(subject_id: int, statuses: tuple[str, ...], size: int = 200) -> Iterator[list[Ticket]]:
    """The subject's queued tickets, oldest first, a chunk at a time (keyset pagination: offers made on the
    way take tickets out of the filter without shifting the next chunk)."""
    tickets = Ticket.objects.filter(subject_id=subject_id, status__in=statuses).order_by("queued_at", "id")
    chunk = list(tickets[:size])
    while chunk:
        yield chunk
        last = chunk[-1]
        chunk = list(
            tickets.filter(Q(queued_at__gt=last.queued_at) | Q(queued_at=last.queued_at, id__gt=last.pk))[:size]
        )


def _offers_make(plan: list[tuple[Ticket, Duty]], policy: str, queued: tuple[str, ...]) -> int:
    """Make a chunk's planned offers in one short transaction (the lock order: tickets, then duties, each in
    id order).

    A ticket that left the queue meanwhile is skipped; for auto-assign, a teacher whose free places shrank
    meanwhile (off duty, a smaller shift) gets none of the chunk's offers and the next pass sees them waiting.
    """
    if not plan:
        return 0
    with transaction.atomic():
        still = set(
            Ticket.objects.select_for_update()
            .filter(pk__in={ticket.pk for ticket, _ in plan}, status__in=queued)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        plan = [(ticket, duty) for ticket, duty in plan if ticket.pk in still]
        if policy == Offer.Policy.AUTO:
            wanted = Counter(duty.pk for _, duty in plan)
            refused = {
                duty_pk
                for duty_pk, count in sorted(wanted.items())
                if not Duty.objects.filter(
                    pk=duty_pk, on_duty=True, capacity__gte=F("load") + F("offered") + count
                ).update(offered=F("offered") + count)
            }
            plan = [(ticket, duty) for ticket, duty in plan if duty.pk not in refused]
        Ticket.objects.filter(pk__in={ticket.pk for ticket, _ in plan}).update(status=Ticket.Status.OFFERED)
        now = timezone.now()
        offers = Offer.objects.bulk_create(
            Offer(
                ticket=ticket,
                teacher_id=duty.teacher_id,
                policy=policy,
                created_at=now,
                expires_at=now + timedelta(seconds=settings.XUEWEN["OFFER_SECONDS"]),
            )
            for ticket, duty in plan
        )
        RoutingFact.objects.bulk_create(
            RoutingFact(
                kind=RoutingFact.Kind.OFFERED,
                teacher_id=offer.teacher_id,
                ticket_id=offer.ticket_id,
                offer=offer,
                at=now,
                data={"policy": policy},
            )
            for offer in offers
        )
        events.offers_created_event_send(
            Offer.objects.filter(pk__in=[offer.pk for offer in offers])
            .select_related("ticket__question__subject")
            .prefetch_related(attachments_prefetch("ticket__question__"))
        )
        from tutoring.routing import tasks

        queue_on_commit(
            lambda: tasks.offers_expire_due.apply_async(countdown=settings.XUEWEN["OFFER_SECONDS"] + 0.5),
            what="routing.offers_expire_due",
        )
    return len(offers)


# --- Answers to offers ----------------------------------------------------------------------


def _offer_rows(teacher: User, offer_id: int) -> tuple[int, int]:
    """The ticket and question ids of the teacher's offer; 404 when the offer is not this teacher's."""
    found = Offer.objects.filter(pk=offer_id, teacher=teacher).values_list("ticket_id", "ticket__question_id").first()
    if found is None:
        raise ServiceError("unknown_offer", _("Unknown offer."), status=404)
    return found


def _ticket_and_offer_locked(ticket_id: int, offer_id: int) -> tuple[Ticket, Offer]:
    """The ticket, then the offer: the lock order (after the question, for a caller that moves it)."""
    return Ticket.objects.select_for_update().get(pk=ticket_id), Offer.objects.select_for_update().get(pk=offer_id)


def offer_accept(*, teacher: User, offer_id: int) -> Ticket:
    """The teacher takes the question: exactly one teacher ever does, never above their capacity. The question
    is locked first (the lock order), so the student's 解决了 or stopping the wait at the same moment queues
    behind the accept, or the accept behind it."""
    with transaction.atomic():
        ticket_id, question_id = _offer_rows(teacher, offer_id)
        question = question_lock(question_id)
        ticket, offer = _ticket_and_offer_locked(ticket_id, offer_id)
        now = timezone.now()
        if offer.status != Offer.Status.OPEN or offer.expires_at <= now or ticket.status not in Ticket.QUEUED:
            raise ServiceError("offer_closed", _("This question was taken by another teacher or expired."), status=409)
        took = Duty.objects.filter(teacher=teacher, on_duty=True, capacity__gt=F("load")).update(
            load=F("load") + 1, offered=F("offered") - (1 if offer.policy == Offer.Policy.AUTO else 0)
        )
        if not took:
            raise ServiceError("at_capacity", _("You are answering as many students as you can."), status=409)
        offer.status = Offer.Status.ACCEPTED
        offer.responded_at = now
        offer.save(update_fields=["status", "responded_at"])
        events.offer_closed_event_send(offer)
        ticket.status = Ticket.Status.ASSIGNED
        ticket.teacher = teacher
        ticket.assigned_at = now
        ticket.save(update_fields=["status", "teacher", "assigned_at"])
        _offers_withdraw(ticket)
        _fact(
            RoutingFact.Kind.ACCEPTED,
            teacher_id=teacher.pk,
            ticket=ticket,
            offer=offer,
            at=now,
            waited_seconds=_seconds(ticket.queued_at, now),
            offer_seconds=_seconds(offer.created_at, now),
        )
        ticket.question = question_transition(question=question, to=Question.Status.WITH_TEACHER)  # as shown
        events.ticket_assigned_event_send(ticket)
        events.duty_state_event_send(selectors.duty_get(teacher))
        _positions_later(ticket.subject_id)
    logger.info("offer.accepted", extra={"offer_id": offer_id, "ticket_id": ticket.pk, "teacher_id": teacher.pk})
    return ticket


def offer_decline(*, teacher: User, offer_id: int) -> Offer:
    with transaction.atomic():
        ticket, offer = _ticket_and_offer_locked(_offer_rows(teacher, offer_id)[0], offer_id)
        if offer.status != Offer.Status.OPEN:
            raise ServiceError("offer_closed", _("This question was taken by another teacher or expired."), status=409)
        _offer_fail(ticket, offer, Offer.Status.DECLINED)
    logger.info("offer.declined", extra={"offer_id": offer_id, "teacher_id": teacher.pk})
    return offer


def offer_expire(*, offer_id: int, reason: str = "timeout") -> bool:
    """Close an open offer that ran out of time (or whose teacher left); False when it was already answered."""
    with transaction.atomic():
        ticket_id = Offer.objects.filter(pk=offer_id).values_list("ticket_id", flat=True).first()
        if ticket_id is None:
            return False
        ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
        offer = Offer.objects.select_for_update().get(pk=offer_id)
        if offer.status != Offer.Status.OPEN or (reason == "timeout" and offer.expires_at > timezone.now()):
            return False
        _offer_fail(ticket, offer, Offer.Status.EXPIRED, reason=reason)
    logger.info("offer.expired", extra={"offer_id": offer_id, "reason": reason})
    return True


def _offer_close(offer: Offer, status: str, now: datetime) -> None:
    offer.status = status
    offer.responded_at = now
    offer.save(update_fields=["status", "responded_at"])
    if offer.policy == Offer.Policy.AUTO:
        Duty.objects.filter(teacher_id=offer.teacher_id, offered__gt=0).update(offered=F("offered") - 1)
    events.offer_closed_event_send(offer)


def _offer_fail(ticket: Ticket, offer: Offer, status: str, *, reason: str = "") -> None:
    """A decline, an expiry or a teacher who left: the question goes back to the front of the queue and is
    never offered to this teacher again; after repeated failures the search widens."""
    now = timezone.now()
    _offer_close(offer, status, now)
    kind = RoutingFact.Kind.DECLINED if status == Offer.Status.DECLINED else RoutingFact.Kind.EXPIRED
    _fact(
        kind, teacher_id=offer.teacher_id, ticket=ticket, offer=offer, at=now, **({"reason": reason} if reason else {})
    )
    ticket.failures += 1
    fields = ["failures"]
    if ticket.status == Ticket.Status.OFFERED and not ticket.offers.filter(status=Offer.Status.OPEN).exists():
        ticket.status = Ticket.Status.WAITING
        fields.append("status")
    if ticket.widen_level < WIDEST and ticket.failures >= settings.XUEWEN["WIDEN_AFTER_FAILURES"] * (
        ticket.widen_level + 1
    ):
        ticket.widen_level += 1
        fields.append("widen_level")
        if ticket.widen_level == WIDEST:
            ticket.needs_attention = True  # administrators see it in the waiting questions list
            fields.append("needs_attention")
        _fact(RoutingFact.Kind.WIDENED, ticket=ticket, at=now, level=ticket.widen_level, failures=ticket.failures)
        logger.warning("ticket.widened", extra={"ticket_id": ticket.pk, "level": ticket.widen_level})
    ticket.save(update_fields=fields)
    _dispatch_later(ticket.subject_id)


def _offers_withdraw(ticket: Ticket) -> None:
    """Close the ticket's other open offers: it was taken or cancelled (no failure of the teachers)."""
    now = timezone.now()
    for offer in ticket.offers.select_for_update().filter(status=Offer.Status.OPEN):
        _offer_close(offer, Offer.Status.WITHDRAWN, now)
        _fact(RoutingFact.Kind.WITHDRAWN, teacher_id=offer.teacher_id, ticket=ticket, offer=offer, at=now)


# --- Presence -------------------------------------------------------------------------------


def _duty_change(
    teacher_id: int,
    change: Callable[[Duty], object] | None = None,
    *,
    now: datetime | None = None,
    silent_since: datetime | None = None,
) -> tuple[Duty, bool]:
    """Apply `change` under the teacher's duty row lock and recompute whether they are on duty; a teacher who
    went off has their open offers put back in the queue (after the lock, in lock order). Returns the duty
    and whether they went off."""
    Duty.objects.get_or_create(teacher_id=teacher_id)
    with transaction.atomic():
        duty = Duty.objects.select_for_update().get(teacher_id=teacher_id)
        if change is not None:
            change(duty)
        went_off = _duty_refresh(duty, now or timezone.now(), silent_since=silent_since)
    if went_off:
        _teacher_offers_expire(teacher_id)
    return duty, went_off


def duty_connect(*, teacher: User, channel_name: str) -> Duty:
    """A duty console opened (or reconnected): one row per socket, presence per teacher."""
    return _duty_change(
        teacher.pk,
        lambda duty: DutyConnection.objects.update_or_create(
            channel_name=channel_name, defaults={"teacher": teacher, "heartbeat_at": timezone.now()}
        ),
    )[0]


def duty_disconnect(*, channel_name: str) -> None:
    """A console closed: the teacher gets no new offers through it, but stays on duty with their open offers
    until the sweep finds it silent (DUTY_SILENT_SECONDS after its last heartbeat). A teacher whose network
    dropped, or whose web process restarted, reconnects within that time and carries on; one who left for good
    has their offers back in the queue when they expire. 下岗 takes a teacher off duty at once."""
    DutyConnection.objects.filter(channel_name=channel_name, closed_at__isnull=True).update(closed_at=timezone.now())


def duty_heartbeat(*, channel_name: str) -> bool:
    """False when the sweep has already dropped this console as silent: it must connect again."""
    return bool(DutyConnection.objects.filter(channel_name=channel_name).update(heartbeat_at=timezone.now()))


def duty_available_set(
    *, teacher: User, available: bool, subject: str | None = None, grade_band_code: str | None = None
) -> Duty:
    """上岗 / 下岗. Outside shifts, where volunteering is allowed, the teacher names a subject (its code or its
    name) and grade band they teach."""
    volunteer_subject = volunteer_band = None
    if available and (subject or grade_band_code):
        profile = getattr(teacher, "teacher_profile", None)
        named = subject_find(subject or "")
        volunteer_subject = profile.subjects.filter(pk=named.pk).first() if profile and named else None
        volunteer_band = profile.grade_bands.filter(code=grade_band_code).first() if profile else None
        if volunteer_subject is None or volunteer_band is None:
            raise ServiceError("not_your_subject", _("Choose a subject and grade band you teach."), field="subject")

    def choose(duty: Duty) -> None:  # saved by the refresh
        duty.available = available
        if volunteer_subject is not None:
            duty.volunteer_subject, duty.volunteer_grade_band = volunteer_subject, volunteer_band

    duty = _duty_change(teacher.pk, choose)[0]
    logger.info("duty.available", extra={"teacher_id": teacher.pk, "available": available})
    return duty


def _duty_refresh(duty: Duty, now: datetime, *, silent_since: datetime | None = None) -> bool:
    """Recompute whether the teacher is on duty (the caller holds the duty row lock); True if they went off."""
    connected = DutyConnection.objects.filter(
        teacher_id=duty.teacher_id, heartbeat_at__gte=now - timedelta(seconds=settings.XUEWEN["DUTY_SILENT_SECONDS"])
    ).exists()
    shift = (
        Shift.objects.filter(teacher_id=duty.teacher_id, starts_at__lte=now, ends_at__gt=now)
        .order_by("starts_at", "id")
        .first()
    )
    was_on_duty, was_subject_id = duty.on_duty, duty.subject_id
    duty.shift = shift
    serving = True
    if shift is not None:
        duty.subject_id, duty.grade_band_id, duty.capacity = shift.subject_id, shift.grade_band_id, shift.capacity
        duty.city_id, duty.district_id, duty.school_id = shift.city_id, shift.district_id, shift.school_id
    elif settings.XUEWEN["DUTY_VOLUNTEERS"] and duty.volunteer_subject_id is not None:
        school = School.objects.filter(teachers__user_id=duty.teacher_id).select_related("district").first()
        duty.subject_id, duty.grade_band_id, duty.capacity = duty.volunteer_subject_id, duty.volunteer_grade_band_id, 1
        duty.city_id, duty.district_id, duty.school_id = (school.district.city_id if school else None), None, None
    else:
        serving = False
    duty.on_duty = duty.available and connected and serving
    if duty.on_duty and not was_on_duty:
        duty.idle_since = duty.idle_since if duty.load else now
        _fact(RoutingFact.Kind.PRESENCE_STARTED, teacher_id=duty.teacher_id, at=now, shift_id=duty.shift_id)
        logger.info("duty.on", extra={"teacher_id": duty.teacher_id})
    elif was_on_duty and not duty.on_duty:
        _fact(
            RoutingFact.Kind.PRESENCE_ENDED,
            teacher_id=duty.teacher_id,
            at=silent_since or now,
            reason="silent" if silent_since else ("shift_ended" if connected and duty.available else "left"),
        )
        logger.info("duty.off", extra={"teacher_id": duty.teacher_id})
    duty.save()
    events.duty_state_event_send(Duty.objects.select_related("subject", "grade_band").get(pk=duty.pk))
    if duty.on_duty and duty.subject_id is not None and (not was_on_duty or duty.subject_id != was_subject_id):
        _dispatch_later(duty.subject_id)
    return was_on_duty and not duty.on_duty


def offers_expire_due() -> int:
    """Expire every open offer whose time is up (after each dispatch's offers run out, and in the sweep)."""
    return sum(
        offer_expire(offer_id=offer_id)
        for offer_id in Offer.objects.filter(status=Offer.Status.OPEN, expires_at__lte=timezone.now()).values_list(
            "pk", flat=True
        )
    )


def _teacher_offers_expire(teacher_id: int) -> None:
    """A teacher who left: their open offers go back to the queue (one transaction each, in lock order)."""
    for offer_id in Offer.objects.filter(teacher_id=teacher_id, status=Offer.Status.OPEN).values_list("pk", flat=True):
        offer_expire(offer_id=offer_id, reason="teacher_left")


# --- The sweep --------------------------------------------------------------------------------


def routing_sweep() -> dict[str, int]:
    """Periodic repair of what timers and sockets cannot guarantee (beat, every few seconds): overdue
    offers expire, silent consoles go off duty, shifts that began or ended take effect, and every subject
    with waiting questions gets a dispatch pass (a restarted process resumes here)."""
    expired = offers_expire_due()
    now = timezone.now()
    silent_before = now - timedelta(seconds=settings.XUEWEN["DUTY_SILENT_SECONDS"])
    silent = DutyConnection.objects.filter(heartbeat_at__lt=silent_before)
    last_seen: dict[int, datetime] = {}  # when each silent teacher was last heard of: their presence ends there
    for teacher_id, seen in silent.values_list("teacher_id", Coalesce("closed_at", "heartbeat_at")):
        last_seen[teacher_id] = max(seen, last_seen.get(teacher_id, seen))
    silent.delete()
    current = Shift.objects.filter(starts_at__lte=now, ends_at__gt=now).values("teacher_id")
    changing = Duty.objects.filter(
        Q(on_duty=True, shift__ends_at__lte=now)  # the shift ended
        | Q(available=True, on_duty=False, teacher_id__in=current)  # a shift began for a waiting teacher
        | Q(on_duty=True, shift__isnull=True, teacher_id__in=current)  # a volunteer's shift began
    )
    went_off = sum(
        _duty_change(teacher_id, now=now, silent_since=last_seen.get(teacher_id))[1]
        for teacher_id in last_seen.keys() | set(changing.values_list("teacher_id", flat=True))
    )
    subjects = set(Ticket.objects.filter(status__in=Ticket.QUEUED).values_list("subject_id", flat=True).distinct())
    offers = sum(dispatch(subject_id=subject_id) for subject_id in subjects)
    return {"expired": expired, "went_off": went_off, "offers": offers}


# --- Waiting students -----------------------------------------------------------------------


def queue_positions_send(*, subject_id: int) -> int:
    """Tell every waiting student of the subject whose place changed; returns how many were told."""
    cache.delete(positions_pending_key(subject_id))
    changed = []
    with transaction.atomic():
        for ticket, position in selectors.queue_positions(subject_id):
            if ticket.notified_position != position["position"]:
                ticket.notified_position = position["position"]
                changed.append((ticket, position))
        if changed:  # several rows of one table are locked in id order (the lock order), then updated
            list(
                Ticket.objects.select_for_update().filter(pk__in=[t.pk for t, _ in changed]).order_by("pk").values("pk")
            )
        Ticket.objects.bulk_update([ticket for ticket, _ in changed], ["notified_position"], batch_size=500)
        events.queue_positions_event_send([(ticket.question_id, position) for ticket, position in changed])
    return len(changed)
