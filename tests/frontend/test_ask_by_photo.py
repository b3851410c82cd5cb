"""A student asks by photo on a phone, in real Chromium, against a real daphne server and Celery worker."""

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image, ImageDraw, ImageFont
from playwright.sync_api import Page, expect

from tests.factories import StudentFactory
from tests.frontend.conftest import page_errors
from tutoring.accounts.models import User
from tutoring.questions.models import Question

if TYPE_CHECKING:
    from tests.frontend.conftest import LiveStack

NOTO_SANS_CJK = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
NOTO_SANS_CJK_SC_INDEX = 2  # the Simplified Chinese face in the collection
QUESTION = "小明有12个苹果，吃了5个，还剩几个？"
CORRECTED = "小明有12个苹果，吃了5个，还剩几个苹果？"
UNDERSTANDING_TIMEOUT_MS = 60_000


def question_photo(path: Path, text: str) -> Path:
    """A photo-like JPEG of one line of question text, as a phone camera would send it."""
    font = ImageFont.truetype(NOTO_SANS_CJK, 44, index=NOTO_SANS_CJK_SC_INDEX)
    assert font.getname() == ("Noto Sans CJK SC", "Regular")
    image = Image.new("RGB", (1000, 320), "white")
    ImageDraw.Draw(image).text((40, 130), text, font=font, fill="black")
    image.save(path, "JPEG", quality=90)
    return path


def without_whitespace(text: str) -> str:
    return "".join(text.split())


@pytest.mark.browser
# Committed for real, so the server and worker processes see it; serialized_rollback restores the
# reference data (subjects) that the flush after a transactional test would otherwise remove.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_student_asks_by_photo_on_a_phone(
    live_stack: "LiveStack", phone: Page, sign_in: Callable[[User], None], tmp_path: Path
) -> None:
    # Given a third-grade student and a photo of the question
    student = StudentFactory(profile__grade=3)
    photo = question_photo(tmp_path / "question.jpg", QUESTION)
    errors = page_errors(phone)

    # When they log in, choose math, attach the photo from the gallery and send
    sign_in(student)
    expect(phone.locator("#grade")).to_have_value("3")
    expect(phone.locator("#question-typed")).to_have_attribute("placeholder", "照原题输入语文题目")
    phone.select_option("#subject", "math")
    expect(phone.locator("#question-typed")).to_have_attribute("placeholder", "照原题输入数学题目")
    phone.set_input_files("#photo-gallery", str(photo))
    expect(phone.locator("#photo-previews img")).to_have_count(1)
    phone.screenshot(path=tmp_path / "ask.png", full_page=True)
    phone.click("[data-testid=submit]")

    # Then the question page opens and the photo is understood live
    phone.wait_for_url(re.compile(r"/questions/\d+/$"))
    question_id = int(re.search(r"/questions/(\d+)/$", phone.url).group(1))
    with live_stack.logs_on_failure():
        expect(phone.locator("#status")).to_have_attribute(
            "data-status", "understood", timeout=UNDERSTANDING_TIMEOUT_MS
        )
    text_box = phone.locator("#question-text")
    expect(text_box).to_be_visible()
    assert without_whitespace(text_box.input_value()) == QUESTION
    expect(phone.locator("#photos img")).to_have_count(1)
    question = Question.objects.get(pk=question_id)
    assert question.student_id == student.pk
    assert question.subject.code == "math"
    assert question.grade == 3
    assert question.status == Question.Status.UNDERSTOOD
    assert question.text_source == Question.TextSource.OCR
    assert without_whitespace(question.text) == QUESTION
    phone.screenshot(path=tmp_path / "question.png", full_page=True)
    _keep_screenshots(tmp_path)

    # When they correct the text and save it
    text_box.fill(CORRECTED)
    phone.click("[data-testid=save-text]")

    # Then the correction is stored as theirs
    expect(phone.locator("#save-status")).to_have_attribute("data-state", "saved")
    question.refresh_from_db()
    assert question.text == CORRECTED
    assert question.text_source == Question.TextSource.CORRECTED
    assert question.status == Question.Status.UNDERSTOOD
    assert text_box.input_value() == CORRECTED

    # And the next question starts at the subject and grade of this one
    phone.goto(f"{live_stack.url}/")
    expect(phone.locator("#subject")).to_have_value("math")
    expect(phone.locator("#grade")).to_have_value("3")
    expect(phone.locator("#question-typed")).to_have_attribute("placeholder", "照原题输入数学题目")
    assert errors == []


def _keep_screenshots(tmp_path: Path) -> None:
    """Copy the screenshots to XUEWEN_SCREENSHOT_DIR when it is set (to look at them, or for the docs)."""
    target = os.environ.get("XUEWEN_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for name in ("ask.png", "question.png"):
            shutil.copy(tmp_path / name, Path(target) / name)
