"""A lecture in Chromium: a student signs up on a phone, the lecturer goes live in the studio and draws, two
students watch the board live (one on a phone, one on a tablet), and the end reaches them."""

import pytest
from playwright.sync_api import Page, expect

from tests.factories import LectureFactory, SchoolFactory, StudentFactory
from tests.frontend.conftest import draw, expect_ink, page_errors
from tests.live import LiveStack
from tutoring.lectures.models import Lecture, LectureEvent, LectureFact, LecturePollAnswer, LectureSignup

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

    # And a question asked on the phone is upvoted on the tablet, seen ranked in the studio and marked answered
    phone.fill("#ask-text", "为什么要进位？")
    phone.click("[data-testid=ask-send]")
    question = tablet.locator("[data-testid=questions] li", has_text="为什么要进位？")
    question.get_by_role("button", name="我也想问（已有 0 人）").click()
    expect(question.get_by_role("button", name="我也想问（已有 1 人）")).to_be_disabled()
    moderated = laptop.locator("[data-testid=moderated-questions] li", has_text="为什么要进位？")
    expect(moderated).to_contain_text("1 ▲")
    moderated.get_by_role("button", name="已解答").click()
    expect(phone.locator("[data-testid=questions] li", has_text="为什么要进位？")).to_contain_text("已解答")

    # And the tablet's student raises a hand, is invited to draw, draws for everyone, and the turn is taken back
    tablet.click("[data-testid=hand]")
    expect(tablet.locator("[data-testid=hand-note]")).to_have_text("你已举手，老师可能会请你发言。")
    hand = laptop.locator("[data-testid=hands] li")
    hand.get_by_role("button", name="请他上台画").click()
    expect(tablet.locator("[data-testid=hand-note]")).to_have_text("老师请你在白板上画。")
    with live_stack.logs_on_failure():
        draw(tablet, "#board", (0.2, 0.7), (0.8, 0.7))
        for page in (phone, laptop):
            expect_ink(page, "#board", (0.5, 0.7))
    hand.get_by_role("button", name="收回").click()
    expect(tablet.locator("[data-testid=hand-note]")).to_have_text("")
    expect(tablet.locator("[data-testid=hand]")).to_have_text("举手")

    # And a quick check is answered on both and its answers show to everyone when closed
    laptop.fill("#poll-prompt", "7×8=?")
    options = laptop.locator("[data-poll-options] input")
    for index, option in enumerate(["54", "56", "58"]):
        options.nth(index).fill(option)
    laptop.click("[data-testid=poll-open]")
    for page, answer in ((phone, "56"), (tablet, "54")):
        page.locator("[data-testid=poll]").get_by_role("button", name=answer).click()
        expect(page.locator("[data-testid=poll]")).to_contain_text(f"你的答案：{answer}")
    expect(laptop.locator("[data-testid=poll-live]")).to_contain_text("2 人已作答")
    laptop.get_by_role("button", name="结束并公布答案").click()
    for page in (phone, tablet):
        expect(page.locator("[data-testid=poll-results]")).to_contain_text("56")
        expect(page.locator("[data-testid=poll-results]")).to_contain_text("1 (50%)")

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
    interaction = LectureFact.objects.filter(lecture=lecture, kind__in=["asked", "upvoted", "question_answered"])
    assert list(interaction.values_list("kind", "user_id")) == [
        ("asked", first.pk),
        ("upvoted", second.pk),
        ("question_answered", lecture.lecturer_id),
    ]
    assert sorted(LecturePollAnswer.objects.values_list("student_id", "choice")) == sorted(
        [(first.pk, 1), (second.pk, 0)]
    )
    assert errors == []
