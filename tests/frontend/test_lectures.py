"""Lectures in Chromium: a student signs up on a phone, the lecturer goes live in the studio and draws, two
students watch the board live (one on a phone, one on a tablet), and the end reaches them; the lecturer uploads
slides, picks one from their thumbnails for the board, and a student sees it on a cheap phone; a student is told
on each of their pages when a lecture they signed up for starts or is cancelled; a student replays an ended
lecture on a cheap phone by its chapters, and the seconds played are counted."""

import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.factories import (
    AdministratorFactory,
    EntryFactory,
    LectureFactory,
    QuestionFactory,
    SchoolFactory,
    StudentFactory,
    lecture_given,
)
from tests.frontend.conftest import draw, expect_ink, page_errors
from tests.live import LiveStack
from tests.samples import question_photo, slides_pdf
from tutoring.lectures import selectors, services
from tutoring.lectures.models import (
    Lecture,
    LectureEvent,
    LectureFact,
    LecturePollAnswer,
    LectureQuestion,
    LectureRecording,
    LectureSignup,
    LectureSlide,
)

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

    # And a question asked on the phone with a photo is upvoted on the tablet, seen ranked in the studio with the
    # photo's thumbnail (tapped, it shows large) and marked answered
    phone.fill("#ask-text", "为什么要进位？")
    phone.set_input_files(
        "#ask-photo", files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": question_photo()}]
    )
    expect(phone.locator("[data-testid=ask-preview]")).to_be_visible()
    phone.click("[data-testid=ask-send]")
    expect(phone.locator("[data-testid=ask-preview]")).to_be_hidden()
    question = tablet.locator("[data-testid=questions] li", has_text="为什么要进位？")
    expect(question.locator("[data-testid=question-photo] img")).to_have_js_property("naturalWidth", 320)
    question.get_by_role("button", name="我也想问（已有 0 人）").click()
    expect(question.get_by_role("button", name="我也想问（已有 1 人）")).to_be_disabled()
    moderated = laptop.locator("[data-testid=moderated-questions] li", has_text="为什么要进位？")
    expect(moderated).to_contain_text("1 ▲")
    expect(moderated.locator("[data-testid=question-photo] img")).to_have_js_property("naturalWidth", 320)
    moderated.locator("[data-testid=question-photo]").click()
    viewer = laptop.locator("[data-testid=photo-viewer]")
    expect(viewer.locator("img")).to_have_js_property("naturalWidth", 900)
    viewer.get_by_role("button").click()
    expect(viewer).to_be_hidden()
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
    assert LectureQuestion.objects.get().photo.student_id == first.pk
    assert sorted(LecturePollAnswer.objects.values_list("student_id", "choice")) == sorted(
        [(first.pk, 1), (second.pk, 0)]
    )
    assert errors == []


# The title of a slide of tests.samples.slides_pdf (at 60 pt from its top left, on 1280 × 720 pt), where a
# board (1200 × 1600) draws it across its width: the fractions of the board's width and height that it covers.
SLIDE_TITLE = {"left": 0.05, "top": 0.04, "right": 0.5, "bottom": 0.08}


def test_the_lecturer_puts_an_uploaded_slide_on_the_board_and_a_student_sees_it_on_a_cheap_phone(
    live_stack: LiveStack, laptop: Page, cheap_phone: Page, sign_in
) -> None:
    # Given a lecture not yet started, and a student of its city in grade 3
    lecture = LectureFactory(title="两位数乘一位数")
    student = StudentFactory(profile__school__district__city=lecture.city, profile__grade=3)
    errors = page_errors(laptop, cheap_phone)

    # When the lecturer uploads a PDF of two pages in the studio
    sign_in(lecture.lecturer, laptop)
    laptop.goto(f"{live_stack.url}/lectures/{lecture.pk}/studio/")
    pdf = {"name": "讲义.pdf", "mimeType": "application/pdf", "buffer": slides_pdf(2)}
    laptop.set_input_files("[data-testid=slides-file]", files=[pdf])

    # Then, once the worker has rendered them, the strip shows a thumbnail of each page
    choices = laptop.locator("[data-testid=slide-choices] button")
    with live_stack.logs_on_failure():
        expect(laptop.locator("[data-testid=slides-status]")).to_have_text("点一页幻灯片，把它放到当前页上。")
    expect(choices).to_have_count(2)
    assert [choices.nth(index).get_attribute("aria-label") for index in range(2)] == ["幻灯片第 1 页", "幻灯片第 2 页"]
    laptop.wait_for_function(
        "() => [...document.querySelectorAll('#slide-choices img')].map((image) => image.naturalWidth).join() "
        "=== '320,320'"
    )
    slides = list(LectureSlide.objects.filter(lecture=lecture).order_by("number"))
    assert [(slide.number, slide.width, slide.height) for slide in slides] == [(1, 1600, 900), (2, 1600, 900)]
    second = slides[1]

    # When a student opens the lecture on a cheap phone, the lecturer goes live and puts the second on the board
    sign_in(student, cheap_phone)
    cheap_phone.goto(f"{live_stack.url}/lectures/{lecture.pk}/")
    laptop.click("[data-testid=lecture-start]")
    expect(cheap_phone.locator("[data-testid=live]")).to_be_visible()
    image_url = f"{live_stack.url}/api/v1/lectures/{lecture.pk}/slides/{second.pk}/image"
    with live_stack.logs_on_failure(), cheap_phone.expect_response(image_url) as shown:
        choices.nth(1).click()

    # Then the student's board fetches that slide's picture and draws it as the page's background
    assert (shown.value.status, shown.value.header_value("content-type")) == (200, "image/jpeg")
    cheap_phone.wait_for_function(
        """(title) => {
            const layer = document.querySelectorAll("#board canvas")[0];
            const [x, y] = [Math.round(layer.width * title.left), Math.round(layer.height * title.top)];
            const width = Math.round(layer.width * (title.right - title.left));
            const height = Math.round(layer.height * (title.bottom - title.top));
            const pixels = layer.getContext("2d").getImageData(x, y, width, height).data;
            return pixels.some((value, index) => index % 4 === 0 && value < 100);
        }""",
        arg=SLIDE_TITLE,
    )
    expect(laptop.locator("#slide-remove")).to_be_visible()
    assert cheap_phone.evaluate("document.documentElement.scrollWidth") <= 360
    backgrounds = LectureEvent.objects.filter(lecture=lecture, type="board.background")
    assert [(event.data["attachment"], event.data["page"]) for event in backgrounds] == [(second.pk, 0)]
    assert errors == []


def test_a_signed_up_student_is_told_on_each_of_their_pages_when_lectures_start_or_are_cancelled(
    live_stack: LiveStack, phone: Page, tablet: Page, laptop: Page, sign_in
) -> None:
    # Given a student signed up for three lectures, one of them live already, on their home page (which lists it)
    school = SchoolFactory()
    city = school.district.city
    live = LectureFactory(city=city, title="认识图形", status=Lecture.Status.LIVE, started_at=timezone.now())
    starting = LectureFactory(city=city, title="分数的初步认识")
    cancelled = LectureFactory(city=city, title="认识钟表")
    student = StudentFactory(profile__school=school, profile__grade=3)
    for lecture in (live, starting, cancelled):
        services.lecture_signup(lecture=lecture, student=student)
    question = QuestionFactory(student=student)
    errors = page_errors(phone)
    sign_in(student)
    notices = phone.locator("[data-testid=lecture-notices]")

    # When an administrator cancels one in the admin
    sign_in(AdministratorFactory(), tablet)
    tablet.goto(f"{live_stack.url}/admin/lectures/lecture/")
    tablet.check(f"input[name=_selected_action][value='{cancelled.pk}']")
    tablet.select_option("select[name=action]", "cancel")
    tablet.click("button[name=index]")

    # Then the home page says so, and nothing of the live lecture it lists
    expect(notices.locator(f"[data-lecture='{cancelled.pk}']")).to_contain_text("你预约的讲座「认识钟表」已取消。")
    expect(notices.locator("[data-lecture]")).to_have_count(1)

    # And on the page of their question, the live lecture is told of as started
    phone.goto(f"{live_stack.url}/questions/{question.pk}/")
    expect(notices.locator(f"[data-lecture='{live.pk}']")).to_contain_text("你预约的讲座「认识图形」开始了。")

    # When the lecturer starts another in the studio
    sign_in(starting.lecturer, laptop)
    laptop.goto(f"{live_stack.url}/lectures/{starting.pk}/studio/")
    laptop.click("[data-testid=lecture-start]")

    # Then the question page says so too, and its way in leads to the live lecture
    notice = notices.locator(f"[data-lecture='{starting.pk}']")
    expect(notice).to_contain_text("你预约的讲座「分数的初步认识」开始了。")
    expect(notices).to_have_attribute("role", "alert")
    notice.get_by_role("link", name="进入讲座").click()
    phone.wait_for_url(f"{live_stack.url}/lectures/{starting.pk}/")
    expect(phone.locator("[data-testid=lecture-status]")).to_have_text("直播中")

    # And the lecture's own page tells of the other live lecture only (its socket tells of both at once)
    expect(notices.locator(f"[data-lecture='{live.pk}']")).to_contain_text("你预约的讲座「认识图形」开始了。")
    expect(notices.locator("[data-lecture]")).to_have_count(1)
    assert errors == []


@pytest.fixture
def replay(transactional_db: None, media_root: Path) -> Lecture:
    """A lecture given and ended, its replay rendered and covering a library question (before the live processes
    start, so that their worker finds the rendering done)."""
    lecture = lecture_given(title="除法应用题：平均分")
    lecture.entries.set([EntryFactory(text="24个苹果平均分给6人，每人几个？")])
    services.lecture_recording_render(recording_id=LectureRecording.objects.get(lecture=lecture).pk)
    return lecture


def test_a_student_replays_a_lecture_by_its_chapters_on_a_cheap_phone_and_the_seconds_played_count(
    replay: Lecture, live_stack: LiveStack, cheap_phone: Page, sign_in
) -> None:
    # Given a student of the lecture's city on a 360 px phone, on the page of the ended lecture
    student = StudentFactory(profile__school__district__city=replay.city, profile__grade=3)
    recording = LectureRecording.objects.get(lecture=replay)
    last_chapter = recording.chapters[-1]["seconds"]
    errors = page_errors(cheap_phone)
    sign_in(student, cheap_phone)
    cheap_phone.goto(f"{live_stack.url}/lectures/{replay.pk}/")

    # Then the replay shows with its chapters and the question it answers, within the screen's width
    video = cheap_phone.locator("[data-testid=replay-video]")
    expect(video).to_be_visible()
    chapters = cheap_phone.locator("[data-testid=chapter]")
    expect(chapters).to_have_text(
        [re.compile(r"第 1 页\s*0:00"), re.compile(r"第 2 页\s*0:02"), re.compile(r"第 1 页\s*0:03")]
    )
    expect(chapters.first).to_have_attribute("aria-current", "true")
    expect(cheap_phone.locator("[data-testid=lecture-entry]")).to_contain_text("24个苹果平均分给6人，每人几个？")
    assert cheap_phone.evaluate("document.documentElement.scrollWidth") <= 360

    # When the student taps the last chapter, the video seeks there and plays to the end; the page reports it
    with live_stack.logs_on_failure():
        with cheap_phone.expect_response(re.compile(r"/replay/watched$")) as reported:
            chapters.nth(2).tap()
            expect(chapters.nth(2)).to_have_attribute("aria-current", "true")
            cheap_phone.wait_for_function(
                "seconds => document.getElementById('replay-video').currentTime >= seconds", arg=last_chapter
            )
        assert reported.value.status == 200

    # Then what was played from the chapter on is one fact, and the seconds sum from the facts
    [fact] = LectureFact.objects.filter(lecture=replay, user=student, kind="replay_watched")
    [[start, end]] = fact.data["intervals"]
    assert last_chapter - 0.05 <= start <= last_chapter + 0.5
    assert abs(end - recording.duration_seconds) < 0.3
    assert fact.data["seconds"] == round(end - start, 3)
    assert selectors.lecture_replay_seconds(lecture_id=replay.pk, user_id=student.pk) == fact.data["seconds"]
    assert errors == []
