"""A lecture in Chromium: a student signs up on a phone, the lecturer goes live in the studio and draws, two
students watch the board live (one on a phone, one on a tablet), and the end reaches them."""

import pytest
from playwright.sync_api import Page, expect

from tests.factories import LectureFactory, SchoolFactory, StudentFactory
from tests.frontend.conftest import draw, expect_ink, page_errors
from tests.live import LiveStack
from tutoring.lectures.models import Lecture, LectureEvent, LectureFact, LectureSignup

# Committed for real, so the live processes see it; serialized_rollback restores the reference data afterwards.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_students_sign_up_and_watch_the_lecturer_draw_live(
    live_stack: LiveStack, phone: Page, tablet: Page, laptop: Page, sign_in
) -> None:
    # Given a lecture for grades 3-4 of a city, and two students of that city in grade 3
    school = SchoolFactory()
    lecture = LectureFactory(city=school.district.city, title="两位数乘一位数")
    first, second = (StudentFactory(profile__school=school, profile__grade=3) for _ in range(2))
    errors = page_errors(phone, tablet, laptop)

    # When the first signs up on the phone's home page
    sign_in(first)
    item = phone.locator("[data-testid=lecture]", has_text="两位数乘一位数")
    item.locator("[data-testid=signup]").click()
    expect(item.locator("[data-testid=signup]")).to_have_text("已预约两位数乘一位数")

    # And the lecturer goes live in the studio while both students have the lecture page open
    sign_in(lecture.lecturer, laptop)
    laptop.goto(f"{live_stack.url}/lectures/{lecture.pk}/studio/")
    expect(laptop.locator("[data-testid=lecture-start]")).to_be_visible()
    sign_in(second, tablet)
    for page in (phone, tablet):
        page.goto(f"{live_stack.url}/lectures/{lecture.pk}/")
    laptop.click("[data-testid=lecture-start]")
    expect(laptop.locator("[data-testid=lecture-status]")).to_have_text("直播中")
    expect(laptop.locator("[data-testid=audience]")).to_have_text("2 名学生在看")

    # Then what the lecturer draws reaches both boards
    with live_stack.logs_on_failure():
        draw(laptop, "#board", (0.2, 0.3), (0.8, 0.3))
        for page in (phone, tablet):
            expect(page.locator("[data-testid=live]")).to_be_visible()
            expect_ink(page, "#board", (0.5, 0.3))

    # And when the lecture ends, both are told
    laptop.once("dialog", lambda dialog: dialog.accept())
    laptop.click("[data-testid=lecture-end]")
    for page in (phone, tablet):
        expect(page.locator("[data-testid=lecture-notice]")).to_have_text("讲座已结束。")

    lecture.refresh_from_db()
    assert lecture.status == Lecture.Status.ENDED
    assert list(LectureSignup.objects.values_list("student_id", flat=True)) == [first.pk]
    assert LectureEvent.objects.filter(lecture=lecture, type="board.stroke").exists()
    joined = LectureFact.objects.filter(lecture=lecture, kind="joined").values_list("user_id", flat=True)
    assert sorted(joined) == sorted([first.pk, second.pk, lecture.lecturer_id])
    assert errors == []
