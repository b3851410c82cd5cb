"""A teacher browses the library on a phone: filters by knowledge point and words and finds the answered question,
its video (transcoded by the real worker) with its poster and duration, and how many students it helped."""

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import Page, expect

from tests.factories import FeedbackFactory, TeacherFactory, knowledge_points_named
from tests.frontend.conftest import page_errors
from tests.samples import video_clip
from tutoring.accounts.models import User
from tutoring.library.models import Answer, Entry
from tutoring.library.services import entry_save

if TYPE_CHECKING:
    from tests.frontend.conftest import LiveStack

QUESTION = "小明有12个苹果，吃了5个，还剩几个？"
TRANSCODE_TIMEOUT_SECONDS = 60
NARROW_PHONE = {"width": 360, "height": 740}
# Every control of the page's content (the top bar is every page's).
CONTROLS = "main a, main button, main select, main input, main summary, main video"


def transcoded_video(entry: Entry) -> Answer:
    """The entry's video answer once the live worker has finished with it."""
    deadline = time.monotonic() + TRANSCODE_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        answer = Answer.objects.get(entry=entry, kind=Answer.Kind.VIDEO)
        if answer.status != Answer.Status.PROCESSING:
            return answer
        time.sleep(0.2)
    raise AssertionError(f"the video of entry {entry.pk} is still being transcoded")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_teacher_finds_an_answered_question_by_knowledge_point_and_words_on_a_phone(
    live_stack: "LiveStack", phone: Page, sign_in: Callable[[User], None]
) -> None:
    # Given an answered question with a video and a worked solution that solved one student's question,
    # and answered questions with another knowledge point or other words
    teacher = TeacherFactory()
    knowledge_points_named(["减法", "应用题", "减法应用"])
    entry, _created = entry_save(
        text=QUESTION,
        subject="math",
        grade=3,
        knowledge_points=["减法", "应用题"],
        solution="12 - 5 = 7（个）",
        video=SimpleUploadedFile("answer.webm", video_clip()),
        created_by=teacher,
    )
    entry_save(
        text="小明有12个苹果，吃了5个，还剩几个？答案是几？",
        subject="math",
        grade=3,
        knowledge_points=["减法应用"],
        solution="7个",
    )
    entry_save(
        text="小明有9个梨，吃了3个，还剩几个？", subject="math", grade=3, knowledge_points=["减法"], solution="6个"
    )
    FeedbackFactory(match__entry=entry)
    with live_stack.logs_on_failure():
        video = transcoded_video(entry)
        assert video.status == Answer.Status.READY
    errors = page_errors(phone)

    # When the teacher opens the library from their home page and filters by a knowledge point and two words
    sign_in(teacher)
    phone.click("[data-testid=library-browse-link]")
    expect(phone.locator("[data-testid=library-card]")).to_have_count(3)
    phone.fill("#filter-point", "减法")
    phone.fill("#filter-text", "苹果 还剩")
    phone.click("[data-testid=library-search]")

    # Then exactly that question is shown, with its video's poster and duration and the student it helped
    expect(phone.locator("[data-testid=library-count]")).to_have_text("1 道已解答的题")
    card = phone.locator("[data-testid=library-card]")
    expect(card).to_have_count(1)
    expect(card).to_have_attribute("data-id", str(entry.pk))
    expect(card.locator("[data-testid=library-card-text]")).to_have_text(QUESTION)
    player = card.locator("[data-testid=library-video]")
    poster = f"/api/v1/library/answers/{video.pk}/poster"
    expect(player).to_have_attribute("poster", poster)
    expect(player).to_have_attribute("aria-label", "讲解视频，0:02")
    expect(card.locator(".answer-caption")).to_have_text("讲解视频，0:02")
    expect(card.locator("[data-testid=library-helped]")).to_have_text("帮助了 1 名学生")
    assert phone.evaluate(
        "async (url) => { const r = await fetch(url); return [r.status, r.headers.get('content-type')] }", poster
    ) == [200, "image/jpeg"]
    expect(phone.locator("#filter-point")).to_have_value("减法")
    expect(phone.locator("#filter-text")).to_have_value("苹果 还剩")

    # And the page fits a 360 px wide phone, with every control at least 44 px tall
    phone.set_viewport_size(NARROW_PHONE)
    assert phone.evaluate("document.documentElement.scrollWidth") == NARROW_PHONE["width"]
    heights = phone.eval_on_selector_all(CONTROLS, "(nodes) => nodes.map((node) => node.offsetHeight)")
    assert len(heights) == 10 and min(heights) >= 44, heights

    # And the poster plays the video
    player.evaluate("(video) => { video.muted = true; return video.play() }")  # muted: no tap needed to start
    phone.wait_for_function("() => document.querySelector('[data-testid=library-video]').currentTime > 0")
    assert errors == []
