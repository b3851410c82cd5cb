from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from tests.factories import StipendRuleFactory, TeacherFactory, presence
from tutoring.routing.models import RoutingFact
from tutoring.stipends.models import LedgerLine, SchoolMonth, Statement
from tutoring.stipends.tasks import ledger_build_recent, statements_build_last_month

pytestmark = pytest.mark.django_db


def on_duty_days_ago(teacher, days: int) -> None:
    day = timezone.localdate() - timedelta(days=days)
    start = datetime.combine(day, time(19), tzinfo=timezone.get_current_timezone())
    presence(teacher, RoutingFact.Kind.PRESENCE_STARTED, start)
    presence(teacher, RoutingFact.Kind.PRESENCE_ENDED, start + timedelta(minutes=40))


def test_the_hourly_task_builds_yesterday_and_the_day_before():
    teacher = TeacherFactory()
    for days in (1, 2, 3):
        on_duty_days_ago(teacher, days)

    assert ledger_build_recent() == 2
    assert sorted(LedgerLine.objects.values_list("day", flat=True)) == [
        timezone.localdate() - timedelta(days=2),
        timezone.localdate() - timedelta(days=1),
    ]


def test_the_daily_task_states_last_month_once_a_rule_is_in_force():
    teacher = TeacherFactory()
    last_month = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
    on_duty_days_ago(teacher, (timezone.localdate() - last_month).days)  # its first day

    assert statements_build_last_month() == 0  # no rule version yet: logged, nothing stated
    StipendRuleFactory(city=teacher.teacher_profile.school.district.city, effective_from=last_month)
    assert statements_build_last_month() == 1
    assert Statement.objects.get().month == last_month
    assert SchoolMonth.objects.get().status == "draft"
