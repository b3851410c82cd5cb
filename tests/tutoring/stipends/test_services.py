from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import NOVEMBER_2026 as NOVEMBER
from tests.factories import StipendRuleFactory, TeacherFactory, month_of_work, on_duty, school_administrator
from tutoring.core.errors import ServiceError
from tutoring.stipends import services
from tutoring.stipends.models import LedgerLine, SchoolMonth, Statement, StatementDay, StipendRule

pytestmark = pytest.mark.django_db

OCTOBER = date(2026, 10, 1)
MINUTE = 60_000


def test_a_month_is_priced_day_by_day_by_the_version_in_force_and_the_quality_factor():
    teacher, school, city_rule, school_rule = month_of_work()

    assert services.statements_build(OCTOBER) == 1
    assert services.statements_build(NOVEMBER) == 1

    october = Statement.objects.get(month=OCTOBER)
    assert (october.teacher_id, october.school_id, october.workload_ms, october.base_fen, october.amount_fen) == (
        teacher.pk,
        school.pk,
        40 * MINUTE,
        7000,
        7000,
    )
    november = Statement.objects.get(month=NOVEMBER)
    # Monday: duty 18:00-20:00 less the session's 5 minutes (115 min) and the session's 3 counted minutes, all
    # after 17:00: 118 min at 75 yuan / 40 min = 22125 fen, and 500 fen for the session; Saturday: 30 min at 80
    # yuan / 40 min = 6000. The mean rating 5 against 4.5: 1111 ‰.
    assert (november.workload_ms, november.base_fen, november.amount_fen, november.credit) == (
        (115 + 3 + 30) * MINUTE,
        22125 + 500 + 6000,
        28625 * 1111 // 1000,
        2 + 1,
    )
    assert november.quality == {str(school_rule.pk): {"base_fen": 28625, "permille": 1111, "amount_fen": 31802}}
    days = StatementDay.objects.filter(statement=november).order_by("day")
    assert list(days.values_list("day", "rule_id", "duty_ms", "session_ms", "sessions", "time_fen", "session_fen")) == [
        (date(2026, 11, 2), school_rule.pk, 115 * MINUTE, 3 * MINUTE, 1, 22125, 500),
        (date(2026, 11, 7), school_rule.pk, 30 * MINUTE, 0, 0, 6000, 0),
    ]
    assert StatementDay.objects.get(statement=october).rule_id == city_rule.pk
    assert len(november.content_hash) == 64


def test_a_month_with_work_and_no_version_in_force_is_refused_and_nothing_is_stored():
    teacher = TeacherFactory()
    on_duty(teacher, date(2026, 9, 30), (19, 0), (19, 40))
    StipendRuleFactory(city=teacher.teacher_profile.school.district.city)  # from October only

    with pytest.raises(ServiceError) as refused:
        services.statements_build(date(2026, 9, 1))

    assert refused.value.code == "no_rule"
    assert Statement.objects.count() == 0


def test_the_facts_and_the_stored_statements_agree_until_one_changes():
    month_of_work()
    services.statements_build(NOVEMBER)

    assert services.statements_verify(NOVEMBER) == []

    StatementDay.objects.filter(day=date(2026, 11, 7)).update(time_fen=6001)
    teacher_id = Statement.objects.get().teacher_id
    assert services.statements_verify(NOVEMBER) == [
        f"teacher {teacher_id} 2026-11-07: time_fen stored 6001, from the facts 6000"
    ]


def test_a_fact_that_arrives_after_the_build_is_the_next_builds_not_a_difference():
    teacher, *_ = month_of_work()
    services.statements_build(NOVEMBER)
    first = Statement.objects.get()

    on_duty(teacher, date(2026, 11, 9), (19, 0), (19, 20))  # 20 min at 75 yuan / 40 min: 3750 fen

    assert services.statements_verify(NOVEMBER) == []
    services.statements_build(NOVEMBER)
    again = Statement.objects.get()
    assert (again.base_fen, again.workload_ms) == (first.base_fen + 3750, first.workload_ms + 20 * MINUTE)
    assert again.facts_upto["routing"] == first.facts_upto["routing"] + 2
    assert services.statements_verify(NOVEMBER) == []


def test_the_commands_build_and_verify_a_month(capsys):
    month_of_work()

    call_command("statements_build", "--month", "2026-11")
    call_command("stipends_verify", "--month", "2026-11")

    assert capsys.readouterr().out.splitlines() == ["2026-11: 1", "2026-11: 0 differences"]
    StatementDay.objects.update(credit=9)
    with pytest.raises(CommandError):
        call_command("stipends_verify", "--month", "2026-11")


def test_building_a_month_again_replaces_its_statements():
    month_of_work()
    services.statements_build(NOVEMBER)
    first = Statement.objects.get()

    services.statements_build(NOVEMBER)

    again = Statement.objects.get()
    assert (again.pk != first.pk, again.content_hash) == (True, first.content_hash)
    assert LedgerLine.objects.filter(day__month=11).count() == 3  # duty and a session on the 2nd, duty on the 7th


def rule_draft(**fields) -> StipendRule:
    return StipendRuleFactory(status=StipendRule.Status.DRAFT, **fields)


def test_a_draft_version_is_put_in_force():
    rule = rule_draft(effective_from=NOVEMBER)

    services.rule_activate(rule=rule, user=rule.created_by)

    rule.refresh_from_db()
    assert (rule.status, rule.activated_at is not None) == ("active", True)


@pytest.mark.parametrize(
    ("effective_from", "code"),
    [(date(2026, 11, 15), "rule_not_month_start"), (OCTOBER, "rule_overlaps"), (NOVEMBER, "rule_backdated")],
)
def test_a_version_mid_month_overlapping_or_over_a_stated_month_is_refused_and_nothing_changes(effective_from, code):
    _, school, *_ = month_of_work()
    services.statements_build(NOVEMBER)
    draft = rule_draft(city=school.district.city, effective_from=effective_from)

    with pytest.raises(ServiceError) as refused:
        services.rule_activate(rule=draft, user=draft.created_by)

    assert refused.value.code == code
    draft.refresh_from_db()
    assert (draft.status, draft.activated_at) == ("draft", None)


def test_a_version_in_force_cannot_be_put_in_force_again():
    rule = StipendRuleFactory()

    with pytest.raises(ServiceError) as refused:
        services.rule_activate(rule=rule, user=rule.created_by)

    assert refused.value.code == "rule_not_draft"


def test_a_draft_shows_what_it_would_have_paid_in_the_last_month_stated():
    teacher, school, *_ = month_of_work()
    services.statements_build(NOVEMBER)
    draft = rule_draft(city=school.district.city, school=school, effective_from=date(2026, 12, 1), evening_fen=8000)

    preview = services.rule_preview(draft)

    # November's Monday at 80 yuan instead of 75: 118 min → 23600 fen, and the Saturday's 6000 and the session's 500.
    assert [(row["teacher"], row["month"], row["stated_fen"], row["draft_fen"]) for row in preview] == [
        (teacher, NOVEMBER, 31802, (23600 + 500 + 6000) * 1111 // 1000)
    ]
    assert StipendRule.objects.get(pk=draft.pk).status == "draft"


def test_a_draft_for_a_place_never_stated_previews_nothing():
    assert services.rule_preview(rule_draft(effective_from=NOVEMBER)) == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_outside_a_transaction_the_ledger_is_written_while_the_next_day_is_read():
    teacher, *_ = month_of_work()

    assert services.statements_build(NOVEMBER) == 1

    stored = LedgerLine.objects.filter(day__month=11).order_by("day", "source")
    assert list(stored.values_list("day", "source")) == [
        (date(2026, 11, 2), "duty"),
        (date(2026, 11, 2), f"session:{teacher.sessions_taught.get().pk}"),
        (date(2026, 11, 7), "duty"),
    ]
    assert Statement.objects.get().amount_fen == 28625 * 1111 // 1000
    assert services.statements_verify(NOVEMBER) == []


def test_a_teacher_stated_by_an_earlier_build_of_a_frozen_school_is_no_difference():
    frozen_teacher, school, *_ = month_of_work()
    other = TeacherFactory()
    on_duty(other, date(2026, 11, 3), (19, 0), (19, 40))
    services.statements_build(NOVEMBER)
    admin = school_administrator(school)
    services.review_start(school_month_id=SchoolMonth.objects.get(school=school).pk, user=admin)
    on_duty(other, date(2026, 11, 4), (19, 0), (19, 40))

    assert services.statements_build(NOVEMBER) == 1  # the frozen school's statement stays as it was built

    assert len({statement.built_at for statement in Statement.objects.all()}) == 2
    assert services.statements_verify(NOVEMBER) == []
    Statement.objects.filter(teacher=other).delete()
    assert services.statements_verify(NOVEMBER) == [f"teacher {other.pk}: work in the facts, no statement"]
    assert Statement.objects.filter(teacher=frozen_teacher).count() == 1


def test_many_teachers_are_priced_as_statement_compute_prices_their_stored_lines():
    teachers = [month_of_work()[0]]
    for number in range(3):
        teacher = TeacherFactory()
        StipendRuleFactory(city=teacher.teacher_profile.school.district.city, school=teacher.teacher_profile.school)
        for day in (2, 3, 14, 30):
            on_duty(teacher, date(2026, 11, day), (17 + number, 10), (19 + number, 25))
        teachers.append(teacher)

    assert services.statements_build(NOVEMBER) == 4

    rules = services.Rules.active()
    for statement in Statement.objects.select_related("school__district"):
        lines = LedgerLine.objects.filter(teacher_id=statement.teacher_id, day__month=11).values(*services.LINE_FIELDS)
        computed = services.statement_compute(school=statement.school, month=NOVEMBER, lines=list(lines), rules=rules)
        assert services.statement_stored(statement) == computed
        assert statement.content_hash == services.content_hash(computed.figures, computed.days)
    assert sorted(Statement.objects.values_list("teacher_id", flat=True)) == sorted(t.pk for t in teachers)
