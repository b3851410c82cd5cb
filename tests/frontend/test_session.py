"""The same-screen session room: the page for each role, and a whole session in real Chromium.

The browser test runs a teacher's tablet and a student's phone against a real daphne server and Celery
worker: the question reaches the teacher as in test_live_routing, both enter the room, draw, chat and
speak (Chromium's fake microphone), the student reloads mid-session, the teacher ends it, the student
rates it, and the recording is rendered, published and replayed on the page.
"""

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.test import Client
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.factories import (
    AdministratorFactory,
    AttachmentFactory,
    KnowledgePointFactory,
    StudentFactory,
    TeacherFactory,
    opened_session,
)
from tests.frontend.conftest import CHROMIUM_ARGS, TABLET, ask_typed, draw, expect_ink, go_on_duty, page_errors
from tests.frontend.test_views import json_script, logged_in
from tutoring.sessions.models import ChatAttachment, Recording, SessionEvent, TutoringSession

if TYPE_CHECKING:
    from tests.frontend.conftest import LiveStack

QUESTION = "一个数的3倍加5等于20，这个数是多少？"
ROUTING_TIMEOUT_MS = 120_000  # understanding and matching first; the worker loads the encoder on first use
RENDER_TIMEOUT_MS = 120_000


# --- The page ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_room_tells_its_script_who_is_in_it() -> None:
    session = opened_session()

    for user, role in ((session.teacher, "teacher"), (session.student, "student")):
        response = logged_in(user).get(f"/sessions/{session.pk}/")

        assert response.status_code == 200
        assert response.templates[0].name == "frontend/session.html"
        html = response.content.decode()
        config = json_script(html, "config")
        assert config["role"] == role
        assert config["socketPath"] == f"/ws/sessions/{session.pk}/"
        assert config["apiUrl"] == f"/api/v1/sessions/{session.pk}/"
        assert json_script(html, "labels")["pageOf"] == "第 %(page)s / %(count)s 页"
        # Only the teacher gets the teacher's controls and the correction form
        assert ('data-testid="end"' in html) is (role == "teacher")
        assert ('data-testid="correction"' in html) is (role == "teacher")
        assert ('data-testid="rating"' in html) is (role == "student")


@pytest.mark.django_db
def test_the_room_is_not_found_for_anyone_else() -> None:
    session = opened_session()

    assert logged_in(StudentFactory()).get(f"/sessions/{session.pk}/").status_code == 404
    assert logged_in(TeacherFactory()).get(f"/sessions/{session.pk}/").status_code == 404
    assert logged_in(session.teacher).get(f"/sessions/{session.pk + 1}/").status_code == 404
    assert Client().get(f"/sessions/{session.pk}/")["Location"] == f"/login/?next=/sessions/{session.pk}/"


# --- A whole session in Chromium -------------------------------------------------------------------


@pytest.fixture
def chromium_args() -> list[str]:
    """A fake microphone (a beep), allowed without asking."""
    return [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def ink_count(page: Page, board: str) -> int:
    """How many pixels of a board's strokes layer have ink."""
    return page.evaluate(
        """(board) => {
            const layer = document.querySelectorAll(`${board} canvas`)[1];
            const pixels = layer.getContext("2d").getImageData(0, 0, layer.width, layer.height).data;
            let count = 0;
            for (let index = 3; index < pixels.length; index += 4) if (pixels[index] > 0) count += 1;
            return count;
        }""",
        board,
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_teacher_and_student_work_a_question_together_and_replay_it(
    live_stack: "LiveStack", phone: Page, tablet: Page, sign_in: Callable[..., None], tmp_path: Path
) -> None:
    # Given a teacher on duty and a student whose question nobody's answer fits (its words name a knowledge point)
    KnowledgePointFactory(name="简易方程", aliases=["这个数是多少"])
    KnowledgePointFactory(name="一元一次方程")
    KnowledgePointFactory(name="倍数")
    errors = page_errors(phone, tablet)
    go_on_duty(tablet, sign_in)
    student = StudentFactory(profile__grade=3)
    sign_in(student)
    question_id = ask_typed(phone, "math", QUESTION)
    offer = tablet.locator("[data-testid=offer]")
    with live_stack.logs_on_failure():
        expect(offer).to_be_visible(timeout=ROUTING_TIMEOUT_MS)

    # When the teacher accepts, the room opens in a tab of its own, and the student is taken into it
    with tablet.context.expect_page() as opened:
        offer.get_by_role("button", name="接单").click()
    room = opened.value
    page_errors(room, into=errors)
    session = TutoringSession.objects.get(question_id=question_id)
    room.wait_for_url(f"{live_stack.url}/sessions/{session.pk}/")
    phone.wait_for_url(f"{live_stack.url}/sessions/{session.pk}/")
    expect(room.locator("#session-title")).to_contain_text("答疑")
    expect(room.locator("[data-testid=presence]")).to_have_text("学生在线。")
    expect(phone.locator("[data-testid=presence]")).to_have_text("老师在线。")
    expect(phone.locator("[data-testid=question-text]")).to_have_text(QUESTION)
    expect(phone.locator("[data-testid=toolbar]")).to_be_hidden()
    # And the duty console links to the room
    tablet.reload()
    expect(tablet.locator("[data-testid=ticket] [data-testid=enter-session]")).to_have_attribute(
        "href", f"/sessions/{session.pk}/"
    )

    # When the teacher draws a line, the student's board shows it at the same place
    draw(room, "#board", (0.2, 0.25), (0.8, 0.25))
    expect_ink(phone, "#board", (0.5, 0.25))
    # And undo and redo take it away and bring it back for both
    room.click("[data-testid=undo]")
    expect_ink(phone, "#board", (0.5, 0.25), present=False)
    expect_ink(room, "#board", (0.5, 0.25), present=False)
    room.click("[data-testid=redo]")
    expect_ink(phone, "#board", (0.5, 0.25))

    # When the teacher turns to a new page, the student sees it too, and the first page again after
    room.click("[data-testid=page-new]")
    expect(phone.locator("[data-testid=page-number]")).to_have_text("第 2 / 2 页")
    expect_ink(phone, "#board", (0.5, 0.25), present=False)
    room.get_by_role("button", name="上一页").click()
    expect(phone.locator("[data-testid=page-number]")).to_have_text("第 1 / 2 页")
    expect_ink(phone, "#board", (0.5, 0.25))

    # When the teacher lets the student draw, the student's line shows on the teacher's board
    room.click("[data-testid=allow-draw]")
    expect(room.locator("[data-testid=allow-draw]")).to_have_attribute("aria-pressed", "true")
    expect(phone.locator("[data-testid=toolbar]")).to_be_visible()
    draw(phone, "#board", (0.3, 0.6), (0.7, 0.6))
    expect_ink(room, "#board", (0.5, 0.6))

    # Messages go both ways
    phone.fill("[data-testid=chat-text]", "老师好，我不会第二步")
    phone.click("[data-testid=chat-send]")
    expect(room.locator("[data-testid=chat]")).to_contain_text("老师好，我不会第二步")
    room.fill("[data-testid=chat-text]", "我们一起看")
    room.click("[data-testid=chat-send]")
    expect(phone.locator("[data-testid=chat]")).to_contain_text("我们一起看")
    expect(phone.locator("[data-testid=chat] li")).to_have_count(2)

    # When the teacher turns the microphone on, the student receives the voice
    room.click("[data-testid=mic]")
    expect(room.locator("[data-testid=mic]")).to_have_attribute("aria-pressed", "true")
    phone.wait_for_function("() => Number(document.getElementById('voice').dataset.frames) >= 10")
    room.screenshot(path=tmp_path / "room-teacher.png")
    phone.screenshot(path=tmp_path / "room-student.png", full_page=True)

    # When the student reloads the page mid-session, the board and the messages come back
    phone.reload()
    expect_ink(phone, "#board", (0.5, 0.25))
    expect_ink(phone, "#board", (0.5, 0.6))
    expect(phone.locator("[data-testid=chat] li")).to_have_count(2)
    expect(phone.locator("[data-testid=undo]")).to_be_enabled()  # the student's own line can still be undone

    # When the teacher ends the session
    room.once("dialog", lambda dialog: dialog.accept())
    room.click("[data-testid=end]")

    # Then the student rates it
    expect(phone.locator("[data-testid=ended]")).to_be_visible()
    expect(phone.locator("[data-testid=toolbar]")).to_be_hidden()
    phone.click("[data-testid=star-5]")
    phone.fill("#rating-comment", "讲得很清楚")
    phone.click("[data-testid=rating-submit]")
    expect(phone.locator("[data-testid=rating-done]")).to_have_text("谢谢！你给了 5 星。")
    # And the teacher files the question under a knowledge point for the library
    expect(room.locator("#fix-text")).to_have_value(QUESTION)
    expect(room.locator("#fix-points")).to_have_value("简易方程")  # the tagger's suggestion, from its words
    room.fill("#fix-points", "一元一次方程，倍数")
    room.click("[data-testid=correction-save]")
    expect(room.locator("[data-testid=correction-status]")).to_have_text("已保存")

    # And the recording is rendered, published and replayed on the page
    with live_stack.logs_on_failure():
        expect(room.locator("[data-testid=recording]")).to_have_attribute(
            "data-status", "published", timeout=RENDER_TIMEOUT_MS
        )
    for page in (room, phone):
        expect(page.locator("[data-testid=replay]")).to_be_visible()
    assert ink_count(phone, "#replay-board") == 0  # the replay starts at the beginning
    phone.wait_for_function("() => document.getElementById('replay-audio').readyState >= 1")
    phone.eval_on_selector("#replay-audio", "(audio) => { audio.currentTime = audio.duration }")  # to the end
    expect_ink(phone, "#replay-board", (0.5, 0.25))
    expect_ink(phone, "#replay-board", (0.5, 0.6))
    phone.screenshot(path=tmp_path / "ended-student.png", full_page=True)
    room.screenshot(path=tmp_path / "ended-teacher.png", full_page=True)

    session.refresh_from_db()
    assert (session.status, session.rating, session.rating_comment) == ("ended", 5, "讲得很清楚")
    assert session.knowledge_points == ["一元一次方程", "倍数"]
    tags = session.question.knowledge_point_tags.all()
    assert [(tag.point.name, tag.source) for tag in tags] == [("一元一次方程", "teacher"), ("倍数", "teacher")]
    assert Recording.objects.get(session=session).status == Recording.Status.PUBLISHED
    events = SessionEvent.objects.filter(session=session)
    chats = [(event.role, event.data["text"]) for event in events.filter(type="chat.message")]
    assert chats == [("student", "老师好，我不会第二步"), ("teacher", "我们一起看")]
    strokes = {(event.role, event.data["stroke"][0]) for event in events.filter(type="board.stroke")}
    assert strokes == {("teacher", "t"), ("student", "s")}
    assert re.fullmatch(r"[ts][0-9a-f]{20}", events.filter(type="board.stroke").first().data["stroke"])
    assert errors == []


def expect_photo(page: Page, board: str, at: tuple[float, float], *, present: bool = True) -> None:
    """Wait until the background layer of a board shows the (blue) question photo around a point, or not."""
    page.wait_for_function(
        """([board, x, y, present]) => {
            const layer = document.querySelectorAll(`${board} canvas`)[0];
            if (!layer || !layer.width) return false;
            const [r, g, b] = layer.getContext("2d").getImageData(
                Math.round(layer.width * x), Math.round(layer.height * y), 1, 1).data;
            return (b > 150 && r < 90 && g < 90) === present;
        }""",
        arg=[board, *at, present],
    )


LASER_WATCH = """() => {
    const dot = document.querySelector("#board .whiteboard-laser");
    window.laserSeen = null;
    new MutationObserver(() => {
        if (!dot.hidden) window.laserSeen = [parseFloat(dot.style.left), parseFloat(dot.style.top)];
    }).observe(dot, { attributes: true, attributeFilter: ["hidden", "style"] });
}"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("live_env", [{"XUEWEN_RECORDING_APPROVAL": "true"}])
def test_photo_laser_chat_photo_an_observer_and_the_teachers_approval(
    live_stack: "LiveStack",
    chromium: Browser,
    phone: Page,
    tablet: Page,
    sign_in: Callable[..., None],
    media_root: Path,
    tmp_path: Path,
) -> None:
    # Given an open room on a question with a photo (a blue 800×600 picture), and an administrator
    session = opened_session()
    (media_root / "questions").mkdir()
    Image.new("RGB", (800, 600), (20, 40, 220)).save(media_root / "questions" / "p.jpg")
    Image.new("RGB", (160, 120), (20, 40, 220)).save(media_root / "questions" / "p-thumb.jpg")
    AttachmentFactory(question=session.question, processed="questions/p.jpg", thumbnail="questions/p-thumb.jpg")
    observer_context = chromium.new_context(**TABLET)
    watcher = observer_context.new_page()
    errors = page_errors(phone, tablet, watcher)
    room_url = f"{live_stack.url}/sessions/{session.pk}/"
    for user, page in ((session.teacher, tablet), (session.student, phone), (AdministratorFactory(), watcher)):
        sign_in(user, page)
        page.goto(room_url)
    expect(tablet.locator("[data-testid=presence]")).to_have_text("学生在线。")

    # The observer watches silently: no tools, no chat box, and not counted as a side of the room
    assert watcher.locator("[data-testid=toolbar]").count() == 0
    assert watcher.locator("[data-testid=chat-text]").count() == 0
    expect(watcher.locator("[data-testid=question-text]")).to_have_text("3加5等于几？")

    # When the teacher places the question photo, it fills the board's width for the student and observer
    tablet.click("[data-testid=tool-photo]")
    tablet.locator(".photo-choice").first.click()
    for page in (phone, watcher):
        expect_photo(page, "#board", (0.75, 0.2))
    # And when the teacher makes it half as wide, it covers only the left half
    tablet.locator("#photo-size").fill("600")
    for page in (phone, watcher):
        expect_photo(page, "#board", (0.75, 0.2), present=False)
        expect_photo(page, "#board", (0.25, 0.2))

    # When the teacher points with the laser, the student sees the dot where the teacher points
    phone.evaluate(LASER_WATCH)
    tablet.click("[data-tool=laser]")
    box = tablet.locator("#board").bounding_box()
    assert box is not None
    tablet.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.7)
    tablet.mouse.down()
    tablet.mouse.move(box["x"] + box["width"] * 0.52, box["y"] + box["height"] * 0.7, steps=5)
    tablet.mouse.up()
    phone.wait_for_function("() => window.laserSeen !== null")
    left, top = phone.evaluate("() => window.laserSeen")  # percent of the board, where the teacher pointed
    assert abs(left - 50) < 3
    assert abs(top - 70) < 3

    # When the student sends a photo in the chat, the teacher and the observer see it
    picture = tmp_path / "working.jpg"
    Image.new("RGB", (640, 480), (200, 30, 30)).save(picture)
    phone.set_input_files("#chat-photo", str(picture))
    for page in (tablet, watcher):
        expect(page.locator("[data-testid=chat] img")).to_have_count(1)
    expect(tablet.locator("[data-testid=chat] img")).to_have_js_property("complete", True)
    assert tablet.eval_on_selector("[data-testid=chat] img", "(image) => image.naturalWidth") > 0

    # When the teacher ends the session, the recording waits for the teacher's approval, then is published
    tablet.once("dialog", lambda dialog: dialog.accept())
    tablet.click("[data-testid=end]")
    with live_stack.logs_on_failure():
        expect(tablet.locator("[data-testid=recording]")).to_have_attribute(
            "data-status", "awaiting_approval", timeout=RENDER_TIMEOUT_MS
        )
    expect(phone.locator("[data-testid=publish]")).to_have_count(0)
    tablet.click("[data-testid=publish]")
    for page in (tablet, phone):
        expect(page.locator("[data-testid=recording]")).to_have_attribute("data-status", "published")
        expect(page.locator("[data-testid=replay]")).to_be_visible()
    tablet.screenshot(path=tmp_path / "approved-teacher.png", full_page=True)
    observer_context.close()

    events = SessionEvent.objects.filter(session=session)
    assert list(events.values_list("type", flat=True).order_by("seq")) == [
        "board.background",
        "board.background",
        *["board.laser"] * events.filter(type="board.laser").count(),
        "chat.message",
    ]
    assert events.filter(type="board.laser").count() >= 1
    assert [event.data["width"] for event in events.filter(type="board.background").order_by("seq")] == [1200, 600]
    attachment = ChatAttachment.objects.get(session=session)
    assert (attachment.kind, attachment.uploaded_by_id) == ("photo", session.student_id)
    assert Recording.objects.get(session=session).status == Recording.Status.PUBLISHED
    assert errors == []
