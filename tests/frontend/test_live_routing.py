"""A student nobody's answer fits waits for a teacher; an on-duty teacher takes the question and answers it.

Real Chromium with two contexts (the student's phone, the teacher's tablet) against a real daphne
server and Celery worker: the worker understands and matches the question, finds nothing in the
empty library, queues it and offers it to the teacher's duty console over the websocket.
"""

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from tests.factories import StudentFactory
from tests.frontend.conftest import ask_typed, go_on_duty, page_errors
from tutoring.questions.models import Question
from tutoring.routing.models import Offer, RoutingFact, Ticket

if TYPE_CHECKING:
    from tests.frontend.conftest import LiveStack

QUESTION = "一个数的3倍加5等于20，这个数是多少？"
# Understanding, then matching; the worker loads the sentence encoder on its first match.
ROUTING_TIMEOUT_MS = 120_000


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_waiting_question_reaches_the_teacher_on_duty_who_answers_it(
    live_stack: "LiveStack", phone: Page, tablet: Page, sign_in: Callable[..., None], tmp_path: Path
) -> None:
    # Given a maths teacher of grades 3-4 inside a shift, and a third-grade student
    errors = page_errors(phone, tablet)

    # When the teacher opens the duty console and goes on duty
    teacher = go_on_duty(tablet, sign_in)
    expect(tablet.locator("[data-testid=duty-toggle]")).to_have_text("下岗")
    student = StudentFactory(profile__grade=3)

    # And the student asks a question the (empty) library cannot answer
    sign_in(student)
    question_id = ask_typed(phone, "math", QUESTION)

    # Then the teacher is offered it, with the question and a countdown
    offer = tablet.locator("[data-testid=offer]")
    with live_stack.logs_on_failure():
        expect(offer).to_be_visible(timeout=ROUTING_TIMEOUT_MS)
    expect(offer).to_contain_text(QUESTION)
    expect(offer).to_contain_text("数学 · 3年级")
    expect(offer.locator(".offer-countdown")).to_contain_text("秒接单")
    # And the student sees that they wait, first in line
    expect(phone.locator("#status")).to_have_attribute("data-status", "waiting_teacher")
    expect(phone.locator("[data-testid=waiting-position]")).to_have_text("下一个就是你。")
    phone.screenshot(path=tmp_path / "waiting.png", full_page=True)
    tablet.screenshot(path=tmp_path / "offer.png", full_page=True)

    # When the teacher accepts
    offer.get_by_role("button", name="接单").click()

    # Then the question is theirs, and the student is taken into the session room at once
    ticket = tablet.locator("[data-testid=ticket]")
    expect(ticket).to_contain_text(QUESTION)
    expect(offer).to_have_count(0)
    expect(tablet.locator("#duty-detail")).to_have_text("正在解答 1 / 2 位学生")
    phone.wait_for_url(re.compile(r"/sessions/\d+/$"))
    # where the question's page, back in the browser's history, says that a teacher is answering
    phone.go_back()
    expect(phone.locator("[data-testid=session-link]")).to_have_text("进入答疑")
    expect(phone.locator("#status")).to_have_attribute("data-status", "with_teacher")
    expect(phone.locator("#status-text")).to_have_text("老师正在解答")
    expect(phone.locator("[data-testid=waiting]")).to_be_hidden()

    # When the teacher has answered
    ticket.get_by_role("button", name="已解答").click()

    # Then the student's question is answered and the teacher's place is free again
    expect(phone.locator("#status-text")).to_have_text("老师已解答")
    expect(ticket).to_have_count(0)
    expect(tablet.locator("#duty-detail")).to_have_text("正在解答 0 / 2 位学生")
    assert Question.objects.get(pk=question_id).status == Question.Status.ANSWERED
    assert list(Ticket.objects.values_list("question_id", "status", "teacher_id")) == [
        (question_id, "finished", teacher.pk)
    ]
    assert list(Offer.objects.values_list("teacher_id", "status")) == [(teacher.pk, "accepted")]
    assert list(RoutingFact.objects.order_by("id").values_list("kind", flat=True)) == [
        "presence_started",
        "queued",
        "offered",
        "accepted",
        "finished",
    ]
    assert errors == []
