import json
from datetime import date, timedelta

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from tests.factories import NOVEMBER_2026 as NOVEMBER
from tests.factories import AdministratorFactory, TeacherFactory, month_of_work, on_duty, school_administrator
from tutoring.core.errors import ServiceError
from tutoring.stipends import exports, services
from tutoring.stipends.models import Adjustment, AuditEntry, Objection, Publication, SchoolMonth, Statement
from tutoring.stipends.pricing import yuan

pytestmark = pytest.mark.django_db


@pytest.fixture
def stated():
    """November stated for one teacher: the school month is a draft, with its administrator and principal."""
    teacher, school, *_ = month_of_work()
    services.statements_build(NOVEMBER)
    return {
        "teacher": teacher,
        "school_month": SchoolMonth.objects.get(school=school, month=NOVEMBER),
        "admin": school_administrator(school),
        "principal": school_administrator(school, principal=True),
    }


def state(school_month: SchoolMonth) -> tuple:
    school_month.refresh_from_db()
    return (
        school_month.status,
        school_month.published_hash,
        Adjustment.objects.count(),
        Objection.objects.count(),
        AuditEntry.objects.count(),
    )


def test_a_month_goes_from_draft_to_locked_with_a_correction_and_an_objection(stated):
    school_month, admin, principal, teacher = (stated[key] for key in ("school_month", "admin", "principal", "teacher"))
    statement = Statement.objects.get()

    services.review_start(school_month_id=school_month.pk, user=admin)
    services.adjustment_add(
        school_month_id=school_month.pk,
        teacher_id=teacher.pk,
        amount_fen=-1500,
        credit=1,
        reason="复核：一次答疑重复计入",
        user=admin,
    )
    services.publicity_start(school_month_id=school_month.pk, days=3, user=admin)
    objection = services.objection_raise(school_month_id=school_month.pk, teacher=teacher, reason="11月9日值班未计入")
    services.objection_answer(objection_id=objection.pk, answer="已核实：当日无值班记录。", user=admin)
    SchoolMonth.objects.filter(pk=school_month.pk).update(publicity_ends_at=timezone.now() - timedelta(seconds=1))
    services.approve(school_month_id=school_month.pk, user=principal)
    services.report(school_month_id=school_month.pk, user=admin)

    school_month.refresh_from_db()
    assert (school_month.status, school_month.approved_by_id) == ("locked", principal.pk)
    publicity, reported = Publication.objects.filter(school_month=school_month).order_by("id")
    figures = json.loads(exports.canonical(exports.export_figures(school_month.school, NOVEMBER)))
    assert (publicity.kind, publicity.figures, reported.kind, reported.figures) == (
        "publicity",
        figures,
        "report",
        figures,
    )
    assert (figures["total"]["amount_yuan"], figures["total"]["credit"]) == (
        str(yuan(statement.amount_fen - 1500)),
        statement.credit + 1,
    )
    assert figures["teachers"][0]["totals"][-1] == {"corrections": True, "amount_yuan": "-15.00", "credit": 1}
    assert publicity.file.read().startswith(b"%PDF") and reported.file.read().startswith(b"PK")
    assert school_month.published_hash == school_month.reported_hash == publicity.content_hash
    assert reported.content_hash == exports.figures_hash(school_month.school, NOVEMBER)
    assert list(AuditEntry.objects.order_by("id").values_list("action", "actor_id")) == [
        ("statements_built", None),
        ("review_started", admin.pk),
        ("adjustment_added", admin.pk),
        ("publicized", admin.pk),
        ("objection_raised", teacher.pk),
        ("objection_answered", admin.pk),
        ("approved", principal.pk),
        ("reported", admin.pk),
    ]


def test_a_frozen_month_is_not_rebuilt_and_its_late_facts_go_to_the_next_month(stated):
    school_month, admin, teacher = stated["school_month"], stated["admin"], stated["teacher"]
    services.review_start(school_month_id=school_month.pk, user=admin)
    stated_amount = Statement.objects.get().amount_fen

    on_duty(teacher, date(2026, 11, 9), (19, 0), (19, 20))  # 20 min at 75 yuan / 40 min = 3750, × 1111 ‰
    assert services.statements_build(NOVEMBER) == 0
    carried = services.late_facts_carry(NOVEMBER)
    again = services.late_facts_carry(NOVEMBER)

    assert Statement.objects.get().amount_fen == stated_amount
    assert [(a.teacher_id, a.month, a.amount_fen, a.credit, a.carried_from) for a in carried] == [
        (teacher.pk, date(2026, 12, 1), (28625 + 3750) * 1111 // 1000 - 31802, 0, NOVEMBER)
    ]
    assert again == []


@pytest.mark.parametrize("who", ["teacher", "other_school_admin", "principal_elsewhere"])
def test_only_the_schools_administrators_review(stated, who):
    school_month = stated["school_month"]
    user = {
        "teacher": lambda: stated["teacher"],
        "other_school_admin": lambda: school_administrator(TeacherFactory().teacher_profile.school),
        "principal_elsewhere": lambda: school_administrator(TeacherFactory().teacher_profile.school, principal=True),
    }[who]()
    before = state(school_month)

    with pytest.raises(ServiceError) as refused:
        services.review_start(school_month_id=school_month.pk, user=user)

    assert refused.value.code == "not_reviewer"
    assert state(school_month) == before


def test_a_superuser_reviews_any_school(stated):
    services.review_start(school_month_id=stated["school_month"].pk, user=AdministratorFactory())

    assert state(stated["school_month"])[0] == "review"


def test_an_adjustment_outside_review_or_on_a_locked_month_is_refused_and_nothing_changes(stated):
    school_month, admin, teacher = stated["school_month"], stated["admin"], stated["teacher"]
    add = {"teacher_id": teacher.pk, "amount_fen": 100, "credit": 0, "reason": "补录", "user": admin}

    with pytest.raises(ServiceError) as refused:
        services.adjustment_add(school_month_id=school_month.pk, **add)
    assert refused.value.code == "wrong_status"

    SchoolMonth.objects.filter(pk=school_month.pk).update(status=SchoolMonth.Status.LOCKED)
    before = state(school_month)
    with pytest.raises(ServiceError) as refused:
        services.adjustment_add(school_month_id=school_month.pk, **add)
    assert (refused.value.code, str(refused.value.message)) == (
        "month_locked",
        "本月已锁定，其中的内容不再改变。",
    )
    assert state(school_month) == before


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"reason": "  "}, "reason_required"),
        ({"teacher_id": 0}, "unknown_teacher"),
        ({"amount_fen": 1.5}, "invalid_amount"),
    ],
)
def test_a_bad_adjustment_is_refused_and_nothing_changes(stated, change, code):
    school_month, admin, teacher = stated["school_month"], stated["admin"], stated["teacher"]
    services.review_start(school_month_id=school_month.pk, user=admin)
    before = state(school_month)
    add = {"teacher_id": teacher.pk, "amount_fen": 100, "credit": 0, "reason": "补录", "user": admin} | change

    with pytest.raises(ServiceError) as refused:
        services.adjustment_add(school_month_id=school_month.pk, **add)

    assert refused.value.code == code
    assert state(school_month) == before


def test_an_objection_after_the_publicity_closed_is_refused_and_nothing_changes(stated):
    school_month, admin, teacher = stated["school_month"], stated["admin"], stated["teacher"]
    services.review_start(school_month_id=school_month.pk, user=admin)
    services.publicity_start(school_month_id=school_month.pk, days=1, user=admin)
    SchoolMonth.objects.filter(pk=school_month.pk).update(publicity_ends_at=timezone.now())
    before = state(school_month)

    with pytest.raises(ServiceError) as refused:
        services.objection_raise(school_month_id=school_month.pk, teacher=teacher, reason="有误")

    assert refused.value.code == "publicity_closed"
    assert state(school_month) == before


def test_a_non_principal_approving_an_open_publicity_or_open_objections_are_refused(stated):
    school_month, admin, principal, teacher = (stated[key] for key in ("school_month", "admin", "principal", "teacher"))
    services.review_start(school_month_id=school_month.pk, user=admin)
    services.publicity_start(school_month_id=school_month.pk, days=1, user=admin)
    services.objection_raise(school_month_id=school_month.pk, teacher=teacher, reason="有误")
    before = state(school_month)

    refusals = []
    for user in (admin, principal):
        with pytest.raises(ServiceError) as refused:
            services.approve(school_month_id=school_month.pk, user=user)
        refusals.append(refused.value.code)
    SchoolMonth.objects.filter(pk=school_month.pk).update(publicity_ends_at=timezone.now())
    with pytest.raises(ServiceError) as refused:
        services.approve(school_month_id=school_month.pk, user=principal)
    refusals.append(refused.value.code)

    assert refusals == ["not_principal", "publicity_running", "objections_open"]
    assert state(school_month) == before


def test_a_report_that_differs_from_the_publicity_is_refused_and_nothing_changes(stated):
    school_month, admin, principal = stated["school_month"], stated["admin"], stated["principal"]
    services.review_start(school_month_id=school_month.pk, user=admin)
    services.publicity_start(school_month_id=school_month.pk, days=1, user=admin)
    SchoolMonth.objects.filter(pk=school_month.pk).update(publicity_ends_at=timezone.now())
    services.approve(school_month_id=school_month.pk, user=principal)
    Statement.objects.update(amount_fen=1)  # figures changed behind the publicity's back
    before = state(school_month)

    with pytest.raises(ServiceError) as refused:
        services.report(school_month_id=school_month.pk, user=admin)

    assert refused.value.code == "report_differs"
    assert state(school_month) == before


def test_adjustments_and_the_audit_log_are_never_rewritten(stated):
    school_month, admin, teacher = stated["school_month"], stated["admin"], stated["teacher"]
    services.review_start(school_month_id=school_month.pk, user=admin)
    services.adjustment_add(
        school_month_id=school_month.pk, teacher_id=teacher.pk, amount_fen=100, credit=0, reason="补录", user=admin
    )

    for rows, change in ((AuditEntry.objects.all(), {"action": "forged"}), (Adjustment.objects.all(), {"credit": 9})):
        with pytest.raises(DatabaseError), transaction.atomic():
            rows.update(**change)
        with pytest.raises(DatabaseError), transaction.atomic():
            rows.delete()
    assert (AuditEntry.objects.count(), Adjustment.objects.get().credit) == (3, 0)


def test_every_publicity_is_archived_even_when_the_review_reopens(stated):
    school_month, admin, teacher = stated["school_month"], stated["admin"], stated["teacher"]
    services.review_start(school_month_id=school_month.pk, user=admin)
    services.publicity_start(school_month_id=school_month.pk, days=3, user=admin)
    services.review_reopen(school_month_id=school_month.pk, user=admin)
    services.adjustment_add(
        school_month_id=school_month.pk, teacher_id=teacher.pk, amount_fen=200, credit=0, reason="补录", user=admin
    )
    services.publicity_start(school_month_id=school_month.pk, days=3, user=admin)

    first, second = Publication.objects.order_by("id")
    school_month.refresh_from_db()
    assert (first.kind, second.kind) == ("publicity", "publicity")
    assert first.content_hash != second.content_hash == school_month.published_hash
    assert (first.figures["total"]["amount_yuan"], second.figures["total"]["amount_yuan"]) == ("318.02", "320.02")
