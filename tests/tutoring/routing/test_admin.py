import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.admin_pages import admin_url, administrator_client, assert_read_only, english_on
from tests.factories import AdministratorFactory, QuestionFactory, ShiftFactory
from tutoring.questions.models import Question
from tutoring.routing import services
from tutoring.routing.models import Offer, RoutingFact, Shift

pytestmark = pytest.mark.django_db


def shift_form(shift: Shift, *, starts_at: timedelta, ends_at: timedelta = timedelta()) -> dict[str, object]:
    """The admin's add form for a shift like ``shift``, moved by ``starts_at`` and ``ends_at``."""
    fields = {
        "teacher": shift.teacher_id,
        "subject": shift.subject_id,
        "grade_band": shift.grade_band_id,
        "city": shift.city_id,
        "district": "",
        "school": "",
        "starts_at_0": "",
        "starts_at_1": "",
        "ends_at_0": "",
        "ends_at_1": "",
        "capacity": 2,
    }
    for name, moment in (("starts_at", shift.starts_at + starts_at), ("ends_at", shift.ends_at + ends_at)):
        local = timezone.localtime(moment)
        fields[f"{name}_0"], fields[f"{name}_1"] = local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")
    return fields


def test_the_admin_schedules_a_shift_by_the_shift_rules(client):
    existing = ShiftFactory()
    client.force_login(administrator := AdministratorFactory())

    overlapping = client.post("/admin/routing/shift/add/", shift_form(existing, starts_at=timedelta(minutes=30)))
    later = client.post(
        "/admin/routing/shift/add/",
        shift_form(existing, starts_at=timedelta(hours=3), ends_at=timedelta(hours=4)),
    )

    assert overlapping.status_code == 200
    assert "这位老师在这个时间已有值班。" in overlapping.content.decode()
    assert later.status_code == 302
    assert Shift.objects.count() == 2
    assert Shift.objects.latest("id").created_by_id == administrator.pk


def test_routing_facts_are_read_only_with_their_details_in_chinese():
    shift = ShiftFactory()
    services.duty_connect(teacher=shift.teacher, channel_name="console")
    services.duty_available_set(teacher=shift.teacher, available=True)
    ticket = services.ticket_enqueue(question=QuestionFactory(status=Question.Status.WAITING_TEACHER))
    services.dispatch(subject_id=ticket.subject_id)
    offer = Offer.objects.get()
    services.offer_expire(offer_id=offer.pk, reason="teacher_left")
    client = administrator_client()

    page = client.get(admin_url(RoutingFact, "changelist")).content.decode()

    details = re.findall(r'<td class="field-details">(.*?)</td>', page)
    assert details == [
        f"值班：{shift.pk}",
        f"问题：{ticket.question_id}",
        "派单方式：指派给一位老师",
        "原因：老师已下岗",
    ]
    assert english_on(page) == []
    assert_read_only(client, RoutingFact.objects.get(kind=RoutingFact.Kind.EXPIRED))
