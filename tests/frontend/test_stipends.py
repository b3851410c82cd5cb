"""A school administrator takes a teacher's November from draft to locked on a laptop while the teacher, on a
phone, objects during the publicity (公示); the principal approves on a phone in between."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from tests.factories import NOVEMBER_2026, month_of_work, school_administrator
from tests.frontend.conftest import PHONE, page_errors
from tests.live import LiveStack
from tutoring.stipends import services
from tutoring.stipends.models import Adjustment, AuditEntry, Objection, SchoolMonth

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_an_administrator_takes_a_month_from_draft_to_locked_while_a_teacher_objects(
    live_stack: LiveStack, laptop: Page, phone: Page, chromium: Browser, sign_in: Callable[..., None]
) -> None:
    teacher, school, *_ = month_of_work()
    services.statements_build(NOVEMBER_2026)
    admin = school_administrator(school)
    principal = school_administrator(school, principal=True)
    school_month = SchoolMonth.objects.get()
    errors = page_errors(laptop, phone)

    # The administrator opens the month from their home page and starts the review.
    sign_in(admin, laptop)
    laptop.click("[data-testid=stipends-link]")
    laptop.click("[data-testid=school-month-link]")
    expect(laptop.locator("[data-testid=month-status]")).to_have_text("草稿")
    expect(laptop.locator("[data-testid=row-total]")).to_have_text(["318.02"])
    laptop.click("[data-step=review]")
    expect(laptop.locator("[data-testid=month-status]")).to_have_text("复核中")

    # A correction with its reason, then the publicity.
    laptop.fill("#adjustment-amount", "-15.5")
    laptop.fill("#adjustment-reason", "11月2日一次答疑重复计入")
    laptop.click("#adjustment-form button")
    expect(laptop.locator("[data-testid=row-total]")).to_have_text(["302.52"])
    laptop.fill("#publicity-days", "3")
    laptop.click("#publicity-form button")
    expect(laptop.locator("[data-testid=month-status]")).to_have_text("公示中")

    # The teacher sees the statement with the correction, and objects.
    sign_in(teacher, phone)
    phone.click("[data-testid=stipends-link]")
    expect(phone.locator("[data-testid=statement-status]")).to_have_text(["公示中"])
    phone.click("[data-testid=statement-link]")
    expect(phone.locator("[data-testid=statement-adjustments]")).to_contain_text(
        "-15.50 元，0 积分：11月2日一次答疑重复计入"
    )
    phone.fill("#objection-text", "11月9日晚上的值班没有计入")
    phone.click("#objection-form button")
    expect(phone.locator("[data-testid=objection]")).to_have_text("11月9日晚上的值班没有计入")

    # The administrator answers; the principal may not approve before the publicity ends.
    laptop.reload()
    laptop.fill(".answer-form textarea", "已核实：当晚值班台没有上线记录。")
    laptop.click(".answer-form button")
    expect(laptop.locator("[data-testid=month-objection]")).to_contain_text("答复： 已核实：当晚值班台没有上线记录。")
    principal_page = chromium.new_context(**PHONE).new_page()
    page_errors(principal_page, into=errors)
    sign_in(principal, principal_page)
    principal_page.goto(f"{live_stack.url}/stipends/months/{school_month.pk}/")
    principal_page.click("[data-step=approve]")
    expect(principal_page.locator("#stipend-error")).to_have_text("公示尚未结束。")

    # Once the publicity is over the principal approves, and the administrator locks and reports.
    SchoolMonth.objects.filter(pk=school_month.pk).update(publicity_ends_at=timezone.now() - timedelta(seconds=1))
    principal_page.reload()
    principal_page.click("[data-step=approve]")
    expect(principal_page.locator("[data-testid=month-status]")).to_have_text("已审批")
    laptop.reload()
    laptop.once("dialog", lambda dialog: dialog.accept())
    laptop.click("[data-step=report]")
    expect(laptop.locator("[data-testid=month-status]")).to_have_text("已锁定并上报")

    school_month.refresh_from_db()
    assert (school_month.status, school_month.reported_hash) == ("locked", school_month.published_hash)
    assert list(Adjustment.objects.values_list("teacher_id", "amount_fen", "author_id")) == [
        (teacher.pk, -1550, admin.pk)
    ]
    assert list(Objection.objects.values_list("teacher_id", "answered_by_id")) == [(teacher.pk, admin.pk)]
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "statements_built",
        "review_started",
        "adjustment_added",
        "publicized",
        "objection_raised",
        "objection_answered",
        "approved",
        "reported",
    ]
    assert errors == []
