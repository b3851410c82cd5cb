"""A student types a question the library has answered, sees the answer on a phone and marks it solved.

Real Chromium against a real daphne server and Celery worker: the worker understands the
question, matches it against the library (building its index from the database) and the page
shows the match live.
"""

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from tests.factories import StudentFactory, TeacherFactory, knowledge_points_named
from tests.frontend.conftest import ask_typed, page_errors
from tutoring.accounts.models import User
from tutoring.library.models import Feedback, Match
from tutoring.library.services import entry_save
from tutoring.questions.models import Question

if TYPE_CHECKING:
    from tests.frontend.conftest import LiveStack

QUESTION = "小明有12个苹果，吃了5个，还剩几个？"
SOLUTION = "12 - 5 = 7（个）\n答：还剩7个苹果。"
# Understanding, then matching; the worker loads the sentence encoder on its first match.
MATCHING_TIMEOUT_MS = 120_000


@pytest.mark.browser
# Committed for real, so the server and worker processes see it; serialized_rollback restores the
# reference data (subjects) that the flush after a transactional test would otherwise remove.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_student_sees_the_answered_question_and_marks_it_solved(
    live_stack: "LiveStack", phone: Page, sign_in: Callable[[User], None], tmp_path: Path
) -> None:
    # Given a library entry answering the question with a worked solution (ready at once)
    teacher = TeacherFactory()
    knowledge_points_named(["减法"])
    entry, _created = entry_save(
        text=QUESTION, subject="math", grade=3, knowledge_points=["减法"], solution=SOLUTION, created_by=teacher
    )
    student = StudentFactory(profile__grade=3)
    errors = page_errors(phone)

    # When a third-grade student logs in and types the same question
    sign_in(student)
    question_id = ask_typed(phone, "math", QUESTION)

    # Then the question page shows the answered question as theirs, with its worked solution
    same = phone.locator("[data-testid=match-same]")
    with live_stack.logs_on_failure():
        expect(same).to_be_visible(timeout=MATCHING_TIMEOUT_MS)
    expect(same.get_by_role("heading", name="这就是你的问题")).to_be_visible()
    expect(same.locator(".match-label")).to_have_text("同一道题")
    expect(same.locator("[data-testid=match-text]")).to_have_text(QUESTION)
    solution = same.locator("[data-testid=solution]")
    expect(solution).to_be_visible()
    expect(solution).to_contain_text("答：还剩7个苹果。")
    expect(phone.locator("[data-testid=matches-status]")).to_be_hidden()
    phone.screenshot(path=tmp_path / "matches.png", full_page=True)

    # When they tap 解决了 (twice, as a hurried student might)
    solved = phone.locator("[data-testid=feedback-resolved]")
    expect(solved).to_have_text("解决了")
    expect(phone.locator("[data-testid=feedback-stuck]")).to_have_text("还是不会")
    solved.click()

    # Then the question is solved by that match, and the page says so
    expect(phone.locator("#status")).to_have_attribute("data-status", "resolved")
    expect(solved).to_have_attribute("aria-pressed", "true")
    expect(phone.locator("[data-testid=feedback-result]")).to_be_visible()
    solved.click()
    expect(solved).to_be_enabled()
    phone.evaluate("window.scrollTo(0, 0)")  # the sticky top bar stays at the top of a full-page shot
    phone.screenshot(path=tmp_path / "resolved.png", full_page=True)
    _keep_screenshots(tmp_path, ["matches.png", "resolved.png"])
    question = Question.objects.get(pk=question_id)
    assert question.student_id == student.pk
    assert question.status == Question.Status.RESOLVED
    assert question.match_outcome == Question.MatchOutcome.SAME
    match = Match.objects.get(question=question, entry=entry)
    assert match.label == Match.Label.SAME
    feedback = list(Feedback.objects.filter(question=question))
    assert [(row.choice, row.match_id) for row in feedback] == [(Feedback.Choice.RESOLVED, match.pk)]
    assert errors == []


def _keep_screenshots(tmp_path: Path, names: list[str]) -> None:
    """Copy the screenshots to XUEWEN_SCREENSHOT_DIR when it is set (to look at them, or for the docs)."""
    target = os.environ.get("XUEWEN_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copy(tmp_path / name, Path(target) / name)
