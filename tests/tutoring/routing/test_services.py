import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from tests.factories import QuestionFactory, SchoolFactory, ShiftFactory, StudentFactory, TeacherFactory
from tutoring.core.errors import ServiceError
from tutoring.questions.models import Question
from tutoring.routing import selectors, services
from tutoring.routing.models import Duty, DutyConnection, Offer, RoutingFact, Shift, Ticket
from tutoring.schools.models import Subject

pytestmark = pytest.mark.django_db


def on_duty(teacher=None, **shift):
    """A teacher inside a shift with the duty console open and 上岗 pressed."""
    shift = ShiftFactory(**({"teacher": teacher} if teacher else {}), **shift)
    services.duty_connect(teacher=shift.teacher, channel_name=f"console-{shift.teacher.pk}")
    services.duty_available_set(teacher=shift.teacher, available=True)
    return shift.teacher


def queued(**question) -> Ticket:
    return services.ticket_enqueue(question=QuestionFactory(status=Question.Status.WAITING_TEACHER, **question))


def facts(*kinds: str) -> list[tuple[str, int | None]]:
    return list(RoutingFact.objects.filter(kind__in=kinds).values_list("kind", "teacher_id"))


def state(ticket: Ticket) -> tuple:
    ticket.refresh_from_db()
    return ticket.status, ticket.teacher_id, ticket.failures, ticket.widen_level


# --- Queue ---------------------------------------------------------------------------------


def test_enqueue_records_the_question_once():
    question = QuestionFactory(grade=4, status=Question.Status.WAITING_TEACHER)

    first = services.ticket_enqueue(question=question)
    again = services.ticket_enqueue(question=question)

    assert first.pk == again.pk
    assert (first.status, first.grade, first.grade_band.code, first.school_id) == (
        "waiting",
        4,
        "primary-middle",
        question.student.student_profile.school_id,
    )
    assert Ticket.objects.count() == 1
    assert facts("queued") == [("queued", None)]


# --- Auto-assign ----------------------------------------------------------------------------


def test_auto_assign_offers_to_the_teacher_with_most_free_places():
    busy = on_duty(capacity=1)
    roomy = on_duty(capacity=3)
    ticket = queued()

    made = services.dispatch(subject_id=ticket.subject_id)

    offer = Offer.objects.get()
    assert made == 1
    assert (offer.teacher_id, offer.policy, offer.status) == (roomy.pk, "auto", "open")
    assert (offer.expires_at - offer.created_at) == timedelta(seconds=20)
    assert state(ticket) == ("offered", None, 0, 0)
    assert list(Duty.objects.order_by("teacher_id").values_list("teacher_id", "offered")) == [
        (busy.pk, 0),
        (roomy.pk, 1),
    ]
    assert facts("offered") == [("offered", roomy.pk)]


def test_auto_assign_breaks_ties_by_the_longest_idle():
    earlier = on_duty()
    on_duty()  # idle since it came on duty, just now
    Duty.objects.filter(teacher=earlier).update(idle_since=timezone.now() - timedelta(minutes=10))
    ticket = queued()

    services.dispatch(subject_id=ticket.subject_id)

    assert Offer.objects.get().teacher_id == earlier.pk


def test_offers_never_exceed_free_places_and_go_oldest_first():
    teacher = on_duty(capacity=1)
    first, second = queued(), queued()

    services.dispatch(subject_id=first.subject_id)
    again = services.dispatch(subject_id=first.subject_id)

    assert again == 0
    assert list(Offer.objects.values_list("ticket_id", flat=True)) == [first.pk]
    assert state(second) == ("waiting", None, 0, 0)
    assert Duty.objects.get(teacher=teacher).offered == 1


def test_accept_assigns_the_question_and_takes_a_place():
    teacher = on_duty(capacity=2)
    ticket = queued()
    services.dispatch(subject_id=ticket.subject_id)
    offer = Offer.objects.get()

    services.offer_accept(teacher=teacher, offer_id=offer.pk)

    offer.refresh_from_db()
    duty = Duty.objects.get(teacher=teacher)
    assert state(ticket) == ("assigned", teacher.pk, 0, 0)
    assert offer.status == "accepted"
    assert (duty.load, duty.offered) == (1, 0)
    assert Question.objects.get(pk=ticket.question_id).status == "with_teacher"
    accepted = RoutingFact.objects.get(kind="accepted")
    assert (accepted.teacher_id, accepted.ticket_id, accepted.offer_id) == (teacher.pk, ticket.pk, offer.pk)
    assert set(accepted.data) == {"waited_seconds", "offer_seconds"}


def test_a_teacher_cannot_accept_another_teachers_offer():
    owner, other = on_duty(), on_duty()
    Duty.objects.filter(teacher=other).update(load=1)  # keeps the offer on `owner`
    ticket = queued()
    services.dispatch(subject_id=ticket.subject_id)
    offer = Offer.objects.get()
    assert offer.teacher_id == owner.pk

    with pytest.raises(ServiceError) as refused:
        services.offer_accept(teacher=other, offer_id=offer.pk)

    assert (refused.value.code, refused.value.status) == ("unknown_offer", 404)
    assert state(ticket) == ("offered", None, 0, 0)
    assert Offer.objects.get().status == "open"
    assert facts("accepted") == []


def test_an_expired_offer_cannot_be_accepted():
    teacher = on_duty()
    ticket = queued()
    services.dispatch(subject_id=ticket.subject_id)
    Offer.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(ServiceError) as refused:
        services.offer_accept(teacher=teacher, offer_id=Offer.objects.get().pk)

    assert refused.value.code == "offer_closed"
    assert state(ticket) == ("offered", None, 0, 0)
    assert Duty.objects.get(teacher=teacher).load == 0


def test_a_full_teacher_cannot_accept():
    teacher = on_duty(capacity=1)
    ticket = queued()
    services.dispatch(subject_id=ticket.subject_id)
    Duty.objects.filter(teacher=teacher).update(load=1)

    with pytest.raises(ServiceError) as refused:
        services.offer_accept(teacher=teacher, offer_id=Offer.objects.get().pk)

    assert refused.value.code == "at_capacity"
    assert state(ticket) == ("offered", None, 0, 0)


def test_a_decline_requeues_at_the_front_and_never_to_the_same_teacher():
    first = on_duty()
    ticket = queued()
    services.dispatch(subject_id=ticket.subject_id)
    newer = queued()
    second = on_duty()

    services.offer_decline(teacher=first, offer_id=Offer.objects.get(teacher=first).pk)
    services.dispatch(subject_id=ticket.subject_id)

    # The declined question went first, to the other teacher; the newer one to the teacher who declined.
    offers = list(Offer.objects.order_by("id").values_list("ticket_id", "teacher_id", "status"))
    assert offers == [(ticket.pk, first.pk, "declined"), (ticket.pk, second.pk, "open"), (newer.pk, first.pk, "open")]
    assert state(ticket) == ("offered", None, 1, 0)
    assert facts("declined") == [("declined", first.pk)]


def test_an_offer_expires_on_time_only():
    teacher = on_duty()
    ticket = queued()
    services.dispatch(subject_id=ticket.subject_id)
    offer = Offer.objects.get()

    early = services.offer_expire(offer_id=offer.pk)
    Offer.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    late = services.offer_expire(offer_id=offer.pk)
    twice = services.offer_expire(offer_id=offer.pk)

    assert (early, late, twice) == (False, True, False)
    assert Offer.objects.get().status == "expired"
    assert state(ticket) == ("waiting", None, 1, 0)
    assert Duty.objects.get(teacher=teacher).offered == 0
    assert services.dispatch(subject_id=ticket.subject_id) == 0  # not to the same teacher again


def test_repeated_failures_widen_to_the_next_band_then_any_band(settings):
    settings.XUEWEN = {**settings.XUEWEN, "WIDEN_AFTER_FAILURES": 1}
    own = on_duty()  # 小学中段, like the grade 3 question
    ticket = queued()
    services.dispatch(subject_id=ticket.subject_id)
    services.offer_decline(teacher=own, offer_id=Offer.objects.get().pk)
    near = on_duty(TeacherFactory(teaching=(["math"], ["primary-upper"])))
    far = on_duty(TeacherFactory(teaching=(["math"], ["junior-middle"])))

    services.dispatch(subject_id=ticket.subject_id)
    near_offer = Offer.objects.get(teacher=near)
    services.offer_decline(teacher=near, offer_id=near_offer.pk)
    services.dispatch(subject_id=ticket.subject_id)

    ticket.refresh_from_db()
    assert list(Offer.objects.order_by("id").values_list("teacher_id", flat=True)) == [own.pk, near.pk, far.pk]
    assert (ticket.widen_level, ticket.needs_attention) == (2, True)
    assert list(RoutingFact.objects.filter(kind="widened").values_list("data", flat=True)) == [
        {"level": 1, "failures": 1},
        {"level": 2, "failures": 2},
    ]


def test_a_school_shift_serves_only_that_schools_students():
    school = SchoolFactory()
    teacher = on_duty(city=school.district.city, district=school.district, school=school)
    elsewhere = queued()
    ours = queued(student=StudentFactory(profile__school=school))

    services.dispatch(subject_id=ours.subject_id)

    assert list(Offer.objects.values_list("ticket_id", "teacher_id")) == [(ours.pk, teacher.pk)]
    assert state(elsewhere) == ("waiting", None, 0, 0)


# --- Open offer (抢答) ----------------------------------------------------------------------


def test_open_offer_goes_to_every_eligible_teacher_and_the_first_accept_wins():
    Subject.objects.filter(code="math").update(routing_policy="open")
    first, second = on_duty(), on_duty()
    ticket = queued()

    services.dispatch(subject_id=ticket.subject_id)
    services.offer_accept(teacher=second, offer_id=Offer.objects.get(teacher=second).pk)
    with pytest.raises(ServiceError) as late:
        services.offer_accept(teacher=first, offer_id=Offer.objects.get(teacher=first).pk)

    assert late.value.code == "offer_closed"
    assert state(ticket) == ("assigned", second.pk, 0, 0)
    assert dict(Offer.objects.values_list("teacher_id", "status")) == {first.pk: "withdrawn", second.pk: "accepted"}
    assert list(Duty.objects.order_by("teacher_id").values_list("load", "offered")) == [(0, 0), (1, 0)]


def test_open_offer_shows_a_teacher_at_most_the_configured_number(settings):
    settings.XUEWEN = {**settings.XUEWEN, "OPEN_OFFERS_SHOWN": 2}
    Subject.objects.filter(code="math").update(routing_policy="open")
    teacher = on_duty(capacity=1)
    tickets = [queued() for _ in range(3)]

    services.dispatch(subject_id=tickets[0].subject_id)

    assert list(Offer.objects.order_by("id").values_list("ticket_id", flat=True)) == [tickets[0].pk, tickets[1].pk]
    assert Duty.objects.get(teacher=teacher).offered == 0  # open offers reserve nothing


# --- Finishing and cancelling ---------------------------------------------------------------


def test_finish_frees_the_place_for_the_next_question():
    teacher = on_duty(capacity=1)
    first, second = queued(), queued()
    services.dispatch(subject_id=first.subject_id)
    services.offer_accept(teacher=teacher, offer_id=Offer.objects.get().pk)
    assert services.dispatch(subject_id=first.subject_id) == 0

    services.ticket_finish(teacher=teacher, ticket_id=first.pk)
    services.dispatch(subject_id=first.subject_id)

    duty = Duty.objects.get(teacher=teacher)
    assert state(first)[0] == "finished"
    assert Question.objects.get(pk=first.question_id).status == "answered"
    assert (duty.load, duty.offered) == (0, 1)
    assert Offer.objects.filter(ticket=second, teacher=teacher, status="open").count() == 1


def test_the_student_cancels_and_offers_are_withdrawn():
    teacher = on_duty()
    ticket = queued()
    services.dispatch(subject_id=ticket.subject_id)
    question = ticket.question

    services.ticket_cancel(question=question)
    with pytest.raises(ServiceError) as again:
        services.ticket_cancel(question=question)

    assert again.value.code == "not_waiting"
    assert state(ticket)[0] == "cancelled"
    assert Offer.objects.get().status == "withdrawn"
    assert Duty.objects.get(teacher=teacher).offered == 0
    assert Question.objects.get(pk=question.pk).status == "cancelled"
    assert facts("cancelled", "withdrawn") == [("withdrawn", teacher.pk), ("cancelled", None)]


def test_a_cancelled_question_can_queue_again():
    ticket = queued()
    services.ticket_cancel(question=ticket.question)

    again = services.ticket_enqueue(question=ticket.question)

    assert again.pk != ticket.pk
    assert list(Ticket.objects.order_by("id").values_list("status", flat=True)) == ["cancelled", "waiting"]


# --- Presence -------------------------------------------------------------------------------


def test_on_duty_needs_a_shift_a_console_and_the_teachers_choice():
    shift = ShiftFactory(capacity=2)
    teacher = shift.teacher

    connected = services.duty_connect(teacher=teacher, channel_name="one")
    available = services.duty_available_set(teacher=teacher, available=True)

    assert connected.on_duty is False
    assert (available.on_duty, available.subject.code, available.grade_band.code, available.capacity) == (
        True,
        "math",
        "primary-middle",
        2,
    )
    assert facts("presence_started") == [("presence_started", teacher.pk)]


def test_outside_a_shift_a_teacher_is_not_on_duty_unless_volunteering_is_allowed(settings):
    teacher = TeacherFactory()
    services.duty_connect(teacher=teacher, channel_name="one")

    refused = services.duty_available_set(
        teacher=teacher, available=True, subject="math", grade_band_code="primary-middle"
    )
    settings.XUEWEN = {**settings.XUEWEN, "DUTY_VOLUNTEERS": True}
    volunteering = services.duty_available_set(
        teacher=teacher, available=True, subject="数学", grade_band_code="primary-middle"
    )  # a subject by its name, as by its code

    assert refused.on_duty is False
    assert (volunteering.on_duty, volunteering.capacity, volunteering.city_id, volunteering.subject.code) == (
        True,
        1,
        teacher.teacher_profile.school.district.city_id,
        "math",
    )


def test_a_teacher_cannot_volunteer_for_a_subject_they_do_not_teach(settings):
    settings.XUEWEN = {**settings.XUEWEN, "DUTY_VOLUNTEERS": True}
    teacher = TeacherFactory()

    with pytest.raises(ServiceError) as refused:
        services.duty_available_set(teacher=teacher, available=True, subject="physics", grade_band_code="junior-middle")

    assert refused.value.code == "not_your_subject"
    assert Duty.objects.filter(teacher=teacher).exists() is False


def test_reconnects_do_not_duplicate_presence():
    teacher = on_duty()

    for number in range(5):
        services.duty_connect(teacher=teacher, channel_name=f"again-{number}")
    for number in range(5):
        services.duty_disconnect(channel_name=f"again-{number}")

    assert Duty.objects.get(teacher=teacher).on_duty is True
    assert facts("presence_started", "presence_ended") == [("presence_started", teacher.pk)]
    assert DutyConnection.objects.filter(closed_at__isnull=True).count() == 1


def test_a_closed_console_keeps_duty_and_offers_but_gets_no_new_offers():
    teacher = on_duty()
    first, second = queued(), queued()
    services.dispatch(subject_id=first.subject_id)
    Offer.objects.filter(ticket=second).delete()
    Ticket.objects.filter(pk=second.pk).update(status=Ticket.Status.WAITING)
    Duty.objects.filter(teacher=teacher).update(offered=1)

    services.duty_disconnect(channel_name=f"console-{teacher.pk}")
    made = services.dispatch(subject_id=first.subject_id)

    assert made == 0
    assert Duty.objects.get(teacher=teacher).on_duty is True
    assert list(Offer.objects.values_list("ticket_id", "status")) == [(first.pk, "open")]
    assert state(second) == ("waiting", None, 0, 0)
    assert facts("presence_ended", "expired") == []


def test_a_teacher_who_reconnects_in_time_accepts_the_offer_made_before():
    teacher = on_duty()
    ticket = queued()
    services.dispatch(subject_id=ticket.subject_id)
    services.duty_disconnect(channel_name=f"console-{teacher.pk}")

    services.duty_connect(teacher=teacher, channel_name="after-restart")
    services.offer_accept(teacher=teacher, offer_id=Offer.objects.get().pk)

    assert state(ticket) == ("assigned", teacher.pk, 0, 0)
    assert facts("presence_started", "presence_ended") == [("presence_started", teacher.pk)]


def test_a_teacher_who_does_not_come_back_goes_off_duty_when_silent_and_the_question_waits_again():
    teacher = on_duty()
    ticket = queued()
    services.dispatch(subject_id=ticket.subject_id)
    services.duty_disconnect(channel_name=f"console-{teacher.pk}")
    closed_at = DutyConnection.objects.get().closed_at
    DutyConnection.objects.update(heartbeat_at=timezone.now() - timedelta(minutes=1))

    result = services.routing_sweep()

    assert result == {"expired": 0, "went_off": 1, "offers": 0}  # its offer went back as the teacher left
    assert Duty.objects.get(teacher=teacher).on_duty is False
    assert (Offer.objects.get().status, state(ticket)) == ("expired", ("waiting", None, 1, 0))
    assert RoutingFact.objects.get(kind="expired").data == {"reason": "teacher_left"}
    ended = RoutingFact.objects.get(kind="presence_ended")
    assert (ended.at, ended.data) == (closed_at, {"reason": "silent"})
    assert DutyConnection.objects.count() == 0


def test_going_off_duty_puts_the_offers_back_at_once():
    teacher = on_duty()
    ticket = queued()
    services.dispatch(subject_id=ticket.subject_id)

    services.duty_available_set(teacher=teacher, available=False)

    assert Duty.objects.get(teacher=teacher).on_duty is False
    assert (Offer.objects.get().status, state(ticket)) == ("expired", ("waiting", None, 1, 0))
    assert RoutingFact.objects.get(kind="expired").data == {"reason": "teacher_left"}
    assert RoutingFact.objects.get(kind="presence_ended").data == {"reason": "left"}


def test_the_sweep_expires_overdue_offers_and_drops_silent_consoles():
    silent = on_duty()
    ticket = queued()
    services.dispatch(subject_id=ticket.subject_id)
    Offer.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    DutyConnection.objects.update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    alive = on_duty()

    result = services.routing_sweep()

    assert result == {"expired": 1, "went_off": 1, "offers": 1}
    assert dict(Duty.objects.values_list("teacher_id", "on_duty")) == {silent.pk: False, alive.pk: True}
    assert list(Offer.objects.order_by("id").values_list("teacher_id", "status")) == [
        (silent.pk, "expired"),
        (alive.pk, "open"),
    ]
    assert RoutingFact.objects.get(kind="presence_ended").data == {"reason": "silent"}


def test_the_sweep_ends_duty_when_the_shift_ends():
    teacher = on_duty()
    Shift.objects.filter(teacher=teacher).update(ends_at=timezone.now() - timedelta(seconds=1))

    services.routing_sweep()

    duty = Duty.objects.get(teacher=teacher)
    assert (duty.on_duty, duty.available) == (False, True)
    assert RoutingFact.objects.get(kind="presence_ended").data == {"reason": "shift_ended"}


def test_a_heartbeat_from_a_dropped_console_says_so():
    teacher = on_duty()

    kept = services.duty_heartbeat(channel_name=f"console-{teacher.pk}")
    dropped = services.duty_heartbeat(channel_name="gone")

    assert (kept, dropped) == (True, False)


# --- Waiting students -----------------------------------------------------------------------


def test_positions_count_within_the_grade_band_with_estimates(settings):
    settings.XUEWEN = {**settings.XUEWEN, "ANSWER_MINUTES_ASSUMED": 6}
    teacher = on_duty(capacity=1)
    Duty.objects.filter(teacher=teacher).update(load=1)
    first, other_band, second = queued(), queued(grade=8), queued()

    positions = {ticket.pk: position for ticket, position in selectors.queue_positions(first.subject_id)}

    assert positions[first.pk] == {
        "position": 1,
        "exact": True,
        "estimate_seconds": 360,
        "teachers_on_duty": 1,
        "next_shift_at": None,
    }
    assert positions[second.pk]["position"] == 2
    assert positions[second.pk]["estimate_seconds"] == 720
    assert positions[other_band.pk] == {
        "position": 1,
        "exact": True,
        "estimate_seconds": None,
        "teachers_on_duty": 0,
        "next_shift_at": None,
    }
    assert selectors.ticket_position(second) == positions[second.pk]


def test_with_nobody_on_duty_the_student_learns_the_next_shift():
    starts = timezone.now() + timedelta(hours=3)
    ShiftFactory(starts_at=starts, ends_at=starts + timedelta(hours=2))
    ticket = queued()

    assert selectors.ticket_position(ticket) == {
        "position": 1,
        "exact": True,
        "estimate_seconds": None,
        "teachers_on_duty": 0,
        "next_shift_at": starts.isoformat(),
    }


def test_position_events_go_only_to_students_whose_place_changed(django_capture_on_commit_callbacks):
    first, second = queued(), queued()
    services.queue_positions_send(subject_id=first.subject_id)
    services.ticket_cancel(question=first.question)

    told = services.queue_positions_send(subject_id=first.subject_id)
    unchanged = services.queue_positions_send(subject_id=first.subject_id)

    assert (told, unchanged) == (1, 0)
    assert Ticket.objects.get(pk=second.pk).notified_position == 1


# --- Facts ----------------------------------------------------------------------------------


def test_facts_cannot_be_changed_or_deleted():
    queued()
    fact = RoutingFact.objects.get()

    for change in (lambda: RoutingFact.objects.update(kind="finished"), lambda: RoutingFact.objects.all().delete()):
        with pytest.raises(DatabaseError), transaction.atomic():
            change()

    assert RoutingFact.objects.get().kind == fact.kind == "queued"


def test_a_burst_of_triggers_queues_one_dispatch_pass_and_one_position_refresh(
    django_capture_on_commit_callbacks, redis_client
):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            queued()

    queued_tasks = [json.loads(message)["headers"]["task"] for message in redis_client.lrange("default", 0, -1)]
    assert sorted(queued_tasks) == ["tutoring.routing.tasks.dispatch", "tutoring.routing.tasks.queue_positions_send"]


def test_a_started_pass_lets_the_next_trigger_queue_another(django_capture_on_commit_callbacks, redis_client):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = queued()
    services.dispatch(subject_id=ticket.subject_id)  # the queued pass runs

    with django_capture_on_commit_callbacks(execute=True):
        queued()

    dispatches = [m for m in redis_client.lrange("default", 0, -1) if b"routing.tasks.dispatch" in m]
    assert len(dispatches) == 2


def test_long_queues_show_rounded_places():
    assert [selectors.position_rounded(n) for n in (1, 20, 21, 30, 31, 100, 101, 151)] == [
        1,
        20,
        30,
        30,
        40,
        100,
        150,
        200,
    ]


# --- Shifts ---------------------------------------------------------------------------------


def shift_fields(**changes: Any) -> dict[str, Any]:
    teacher = changes.pop("teacher", None) or TeacherFactory()
    school = SchoolFactory()
    fields = {
        "teacher": teacher,
        "subject": Subject.objects.get(code="math"),
        "grade_band": teacher.teacher_profile.grade_bands.first(),
        "city": school.district.city,
        "district": school.district,
        "school": school,
        "starts_at": timezone.now() + timedelta(hours=1),
        "ends_at": timezone.now() + timedelta(hours=3),
    }
    return fields | changes


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"ends_at": timezone.now()}, "shift_ends_before_start"),
        ({"district": None}, "school_not_in_district"),
        ({"subject_code": "physics"}, "not_their_subject"),
    ],
)
def test_a_shift_that_breaks_a_rule_is_refused_and_not_saved(changes, code):
    if "subject_code" in changes:
        changes = {"subject": Subject.objects.get(code=changes.pop("subject_code"))}
    fields = shift_fields(**changes)

    with pytest.raises(ServiceError) as refused:
        services.shift_save(shift=Shift(capacity=1, **fields))

    assert refused.value.code == code
    assert Shift.objects.count() == 0


def test_a_district_of_another_city_is_refused():
    other = SchoolFactory(district__city__name="杭州市")

    with pytest.raises(ServiceError) as refused:
        services.shift_check(**shift_fields(district=other.district, school=None))

    assert refused.value.code == "district_not_in_city"


def test_a_teachers_shifts_never_overlap_and_a_shift_can_be_moved():
    fields = shift_fields()
    first = services.shift_save(shift=Shift(capacity=2, **fields))
    later = fields | {"starts_at": fields["ends_at"], "ends_at": fields["ends_at"] + timedelta(hours=2)}

    with pytest.raises(ServiceError) as refused:
        services.shift_save(
            shift=Shift(capacity=1, **(fields | {"starts_at": fields["starts_at"] + timedelta(hours=1)}))
        )
    services.shift_save(shift=Shift(capacity=1, **later))  # starts as the first ends: no overlap
    first.ends_at += timedelta(minutes=30)
    with pytest.raises(ServiceError) as moved:
        services.shift_save(shift=first)

    assert (refused.value.code, refused.value.field, moved.value.code) == (
        "shift_overlap",
        "starts_at",
        "shift_overlap",
    )
    assert Shift.objects.count() == 2
    assert Shift.objects.get(pk=first.pk).ends_at == fields["ends_at"]
