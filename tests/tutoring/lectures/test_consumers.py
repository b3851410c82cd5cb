import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from tests.factories import AttachmentFactory, LectureFactory, LectureSlideFactory, StudentFactory, TeacherFactory
from tests.samples import STROKE
from tests.sockets import next_of, refused_code, socket
from tutoring.lectures import broadcast, services
from tutoring.lectures.models import Lecture, LectureAudioChunk, LectureConnection, LectureEvent, LectureFact

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.asyncio]


def stroke(number: int, **fields) -> dict:
    return {**STROKE, "stroke": f"t{number}", "ref": f"r{number}", **fields}


def live_lecture() -> Lecture:
    lecture = LectureFactory()
    services.lecture_start(lecturer=lecture.lecturer, lecture_id=lecture.pk)
    return Lecture.objects.select_related("lecturer").get(pk=lecture.pk)


async def enter(lecture, user, after: int = 0):
    ws = await socket(f"/ws/lectures/{lecture.pk}/?after={after}", user)
    connected, _ = await ws.connect()
    assert connected is True
    snapshot = await ws.receive_json_from(timeout=5)
    assert snapshot["type"] == "lecture.snapshot"
    return ws, snapshot


async def framed_until(ws, last_seq: int) -> list[dict]:
    """The events of the frames a viewer gets until the one with ``last_seq``."""
    seen: list[dict] = []
    while not seen or seen[-1]["seq"] < last_seq:
        seen += (await next_of(ws, "lecture.frame"))["events"]
    return seen


async def echoed(lecturer, count: int) -> list[dict]:
    return [await next_of(lecturer, "board.stroke") for _ in range(count)]


async def stored_log(read):
    """Read the database at the end of a test (and close the sync thread's connection after)."""
    return await database_sync_to_async(read)()


async def test_the_lecturer_students_in_scope_and_teachers_enter_others_are_refused():
    lecture = await sync_to_async(LectureFactory)()
    elsewhere = await sync_to_async(StudentFactory)(profile__grade=8)

    codes = [
        await refused_code(f"/ws/lectures/{lecture.pk}/", elsewhere),
        await refused_code(f"/ws/lectures/{lecture.pk}/"),
    ]
    lecturer, snapshot = await enter(lecture, lecture.lecturer)
    viewer, _ = await enter(lecture, await sync_to_async(StudentFactory)())
    observer, _ = await enter(lecture, await sync_to_async(TeacherFactory)())
    roles = await stored_log(lambda: list(lecture.connections.order_by("id").values_list("role", flat=True)))
    for ws in (viewer, observer, lecturer):
        await ws.disconnect()

    assert codes == [4404, 4401]
    assert roles == ["lecturer", "viewer", "observer"]
    assert (snapshot["last_seq"], snapshot["lecture"]["status"], snapshot["lecture"]["viewers"]) == (0, "scheduled", 0)
    assert snapshot["events"] == [{"type": "board.page", "seq": 0, "by": "teacher", "page": 0}]


async def test_two_viewers_get_the_lecturers_events_in_frames_once_and_in_order():
    lecture = await sync_to_async(live_lecture)()
    lecturer, _ = await enter(lecture, lecture.lecturer)
    first, _ = await enter(lecture, await sync_to_async(StudentFactory)())
    second, _ = await enter(lecture, await sync_to_async(StudentFactory)())

    for number in range(1, 6):
        await lecturer.send_json_to(stroke(number))
    echoes = await echoed(lecturer, 5)
    seen = [await framed_until(first, 5), await framed_until(second, 5)]
    await lecturer.send_json_to({"v": 1, "type": "board.laser", "x": 10, "y": 20})
    then = [await framed_until(first, 6), await framed_until(second, 6)]
    for ws in (first, second, lecturer):
        await ws.disconnect()

    assert [(echo["seq"], echo["ref"]) for echo in echoes] == [(n, f"r{n}") for n in range(1, 6)]
    assert seen == [echoes, echoes]
    assert [[(event["seq"], event["type"]) for event in events] for events in then] == [[(6, "board.laser")]] * 2
    assert await stored_log(lambda: list(LectureEvent.objects.values_list("seq", flat=True))) == [1, 2, 3, 4, 5, 6]


async def test_a_late_viewer_gets_the_page_in_view_then_only_newer_events():
    lecture = await sync_to_async(live_lecture)()
    lecturer, _ = await enter(lecture, lecture.lecturer)
    early, _ = await enter(lecture, await sync_to_async(StudentFactory)())
    messages = [
        stroke(1),
        stroke(2, points=[[10, 20, 0], [30, 40, 16]], end=False),
        stroke(2, points=[[50, 60, 40]], end=True),
        {"v": 1, "type": "board.undo", "target": "t1"},
        stroke(3, page=1),
        {"v": 1, "type": "board.page", "page": 1},
        {"v": 1, "type": "board.page", "page": 0},
    ]
    for message in messages:
        await lecturer.send_json_to(message)
    await framed_until(early, 7)  # the process's board holds all seven

    late, snapshot = await enter(lecture, await sync_to_async(StudentFactory)())
    await lecturer.send_json_to(stroke(4))
    newer = await framed_until(late, 8)
    for ws in (early, late, lecturer):
        await ws.disconnect()

    assert snapshot["last_seq"] == 7
    assert [(event["type"], event["seq"]) for event in snapshot["events"]] == [
        ("board.stroke", 2),
        ("board.page", 7),
    ]
    whole = snapshot["events"][0]
    assert (whole["stroke"], [point[:2] for point in whole["points"]], whole["end"]) == (
        "t2",
        [[10, 20], [30, 40], [50, 60]],
        True,
    )
    times = [point[2] for point in whole["points"]]  # when the server placed each point, from the first
    assert times[0] == 0 and times == sorted(times)
    assert [(event["seq"], event["stroke"]) for event in newer] == [(8, "t4")]


async def test_the_first_socket_of_a_process_reads_the_board_from_the_log():
    lecture = await sync_to_async(live_lecture)()
    lecturer, _ = await enter(lecture, lecture.lecturer)
    await lecturer.send_json_to(stroke(1))
    await lecturer.send_json_to({"v": 1, "type": "board.page", "page": 2})
    await echoed(lecturer, 1)
    await next_of(lecturer, "board.page")
    await lecturer.disconnect()  # the process leaves the lecture

    viewer, snapshot = await enter(lecture, await sync_to_async(StudentFactory)())
    await viewer.disconnect()

    assert (snapshot["last_seq"], snapshot["events"]) == (
        2,
        [{"type": "board.page", "seq": 2, "by": "teacher", "page": 2}],
    )
    assert broadcast.HUBS[asyncio.get_running_loop()] == {}  # the viewer was the last


async def test_a_reconnect_gets_exactly_the_missed_events_then_the_live_ones():
    lecture = await sync_to_async(live_lecture)()
    lecturer, _ = await enter(lecture, lecture.lecturer)
    witness, _ = await enter(lecture, await sync_to_async(StudentFactory)())
    student = await sync_to_async(StudentFactory)()
    viewer, _ = await enter(lecture, student)

    await lecturer.send_json_to(stroke(1))
    await lecturer.send_json_to(stroke(2))
    before = await framed_until(viewer, 2)
    await viewer.disconnect()
    await lecturer.send_json_to(stroke(3))
    await lecturer.send_json_to(stroke(4))
    await framed_until(witness, 4)
    again, resumed = await enter(lecture, student, after=2)
    await lecturer.send_json_to(stroke(5))
    live = await framed_until(again, 5)
    for ws in (witness, again, lecturer):
        await ws.disconnect()

    assert [event["seq"] for event in before] == [1, 2]
    assert ([event["seq"] for event in resumed["events"]], resumed["last_seq"]) == ([3, 4], 4)
    assert [event["stroke"] for event in resumed["events"]] == ["t3", "t4"]
    assert [event["seq"] for event in live] == [5]


async def test_a_viewer_may_not_draw_or_end_and_stays_connected():
    lecture = await sync_to_async(live_lecture)()
    viewer, _ = await enter(lecture, await sync_to_async(StudentFactory)())
    observer, _ = await enter(lecture, await sync_to_async(TeacherFactory)())

    await viewer.send_json_to(stroke(1))
    drawn = await next_of(viewer, "error")
    await viewer.send_json_to({"type": "lecture.end"})
    ended = await next_of(viewer, "error")
    await viewer.send_to(bytes_data=b"\x01\x02" * 1600)
    spoken = await next_of(viewer, "error")
    await observer.send_json_to({"v": 1, "type": "board.clear", "id": "t9", "page": 0})
    cleared = await next_of(observer, "error")
    await viewer.send_json_to({"type": "ping"})
    pong = await next_of(viewer, "pong")
    for ws in (viewer, observer):
        await ws.disconnect()

    assert [error["code"] for error in (drawn, ended, spoken, cleared)] == ["not_allowed"] * 4
    assert pong == {"type": "pong"}
    assert await stored_log(lambda: (LectureEvent.objects.count(), Lecture.objects.get().status)) == (0, "live")


async def test_malformed_messages_are_answered_and_nothing_is_stored():
    lecture = await sync_to_async(live_lecture)()
    lecturer, _ = await enter(lecture, lecture.lecturer)

    await lecturer.send_to(text_data="{not json")
    invalid_json = await next_of(lecturer, "error")
    await lecturer.send_to(text_data='{"type": "x", "pad": "' + "a" * 65536 + '"}')
    too_big = await next_of(lecturer, "error")
    await lecturer.send_json_to({"type": "session.end"})
    unknown = await next_of(lecturer, "error")
    await lecturer.send_json_to(stroke(1, color="red"))
    bad_stroke = await next_of(lecturer, "error")
    await lecturer.send_json_to({**stroke(2), "stroke": "s2"})
    not_teachers = await next_of(lecturer, "error")
    await lecturer.send_json_to({"v": 1, "type": "board.page", "page": 1, "ref": "p1"})
    page = await next_of(lecturer, "board.page")
    await lecturer.disconnect()

    assert [error["code"] for error in (invalid_json, too_big, unknown)] == [
        "invalid_json",
        "invalid_message",
        "unknown_type",
    ]
    assert (bad_stroke["code"], bad_stroke["ref"]) == ("invalid_message", "r1")
    assert (not_teachers["code"], not_teachers["ref"]) == ("not_allowed", "r2")
    assert (page["seq"], page["ref"]) == (1, "p1")
    assert await stored_log(lambda: list(LectureEvent.objects.values_list("seq", "type"))) == [(1, "board.page")]


def background(slide_id: int | None, ref: str) -> dict:
    placed = {"page": 0, "attachment": slide_id, "x": 0, "y": 0, "width": 1200}
    return {"v": 1, "type": "board.background", **placed, "ref": ref}


async def test_the_lecturer_puts_a_slide_on_a_page_viewers_see_it_and_late_ones_get_it_in_the_snapshot():
    lecture = await sync_to_async(live_lecture)()
    slide = await sync_to_async(LectureSlideFactory)(lecture=lecture)
    lecturer, _ = await enter(lecture, lecture.lecturer)
    viewer, _ = await enter(lecture, await sync_to_async(StudentFactory)())

    await lecturer.send_json_to(background(slide.pk, "b1"))
    placed = await next_of(lecturer, "board.background")
    framed = await framed_until(viewer, 1)
    late, snapshot = await enter(lecture, await sync_to_async(StudentFactory)())
    for ws in (viewer, late, lecturer):
        await ws.disconnect()

    expected = {"page": 0, "attachment": slide.pk, "x": 0, "y": 0, "width": 1200, "type": "board.background"}
    assert placed == {**expected, "seq": 1, "at": placed["at"], "by": "teacher", "ref": "b1"}
    assert framed == [placed]
    assert snapshot["events"] == [
        {**expected, "seq": 1, "by": "teacher"},
        {"type": "board.page", "seq": 1, "by": "teacher", "page": 0},
    ]


async def test_only_the_lectures_own_slides_can_be_placed_and_the_studio_stays_connected():
    lecture = await sync_to_async(live_lecture)()
    elsewhere = await sync_to_async(LectureSlideFactory)()  # a slide of another lecture
    photo = await sync_to_async(AttachmentFactory)()  # a question's photo: not the lecture's
    lecturer, _ = await enter(lecture, lecture.lecturer)

    await lecturer.send_json_to(background(elsewhere.pk, "b1"))
    other_lecture = await next_of(lecturer, "error")
    await lecturer.send_json_to(background(photo.pk, "b2"))
    unknown = await next_of(lecturer, "error")
    await lecturer.send_json_to(stroke(1))
    drawn = await next_of(lecturer, "board.stroke")
    await lecturer.send_json_to(background(None, "b3"))  # taking a background off is fine
    cleared = await next_of(lecturer, "board.background")
    await lecturer.disconnect()

    assert [(error["code"], error["ref"]) for error in (other_lecture, unknown)] == [
        ("unknown_slide", "b1"),
        ("unknown_slide", "b2"),
    ]
    assert (drawn["seq"], cleared["seq"], cleared["attachment"]) == (1, 2, None)
    assert await stored_log(lambda: list(LectureEvent.objects.values_list("seq", "type"))) == [
        (1, "board.stroke"),
        (2, "board.background"),
    ]


async def test_the_lecturers_voice_reaches_viewers_and_is_saved():
    lecture = await sync_to_async(LectureFactory)()
    lecturer, _ = await enter(lecture, lecture.lecturer)
    viewer, _ = await enter(lecture, await sync_to_async(StudentFactory)())
    frame = b"\x01\x02" * 1600  # 100 ms

    await lecturer.send_to(bytes_data=frame)
    not_live = await next_of(lecturer, "error")
    await lecturer.send_json_to({"type": "lecture.start"})
    await next_of(viewer, "lecture.status")
    await lecturer.send_to(bytes_data=frame)
    heard = await viewer.receive_output(timeout=5)
    await lecturer.send_to(bytes_data=b"\x01" * 7)
    odd = await next_of(lecturer, "error")
    await lecturer.disconnect()
    await viewer.disconnect()

    assert not_live["code"] == "not_live"
    assert heard == {"type": "websocket.send", "bytes": frame}
    assert odd["code"] == "invalid_audio"
    assert await stored_log(lambda: list(LectureAudioChunk.objects.values_list("lecture_id", "samples"))) == [
        (lecture.pk, 1600)
    ]


async def test_the_start_and_the_end_reach_every_socket():
    lecture = await sync_to_async(LectureFactory)()
    lecturer, _ = await enter(lecture, lecture.lecturer)
    viewer, _ = await enter(lecture, await sync_to_async(StudentFactory)())

    await lecturer.send_json_to(stroke(1))
    not_live = await next_of(lecturer, "error")
    await lecturer.send_json_to({"type": "lecture.start"})
    started = [await next_of(viewer, "lecture.status"), await next_of(lecturer, "lecture.status")]
    await lecturer.send_json_to(stroke(2))
    await lecturer.send_json_to({"type": "lecture.end"})
    drawn = await next_of(viewer, "lecture.frame")
    ended = await next_of(viewer, "lecture.status")
    await lecturer.send_json_to({"type": "lecture.end"})
    again = await next_of(lecturer, "error")
    await lecturer.disconnect()
    await viewer.disconnect()

    assert (not_live["code"], not_live["ref"]) == ("not_live", "r1")
    assert [status["lecture"]["status"] for status in started] == ["live", "live"]
    assert [event["stroke"] for event in drawn["events"]] == ["t2"]
    assert (ended["lecture"]["status"], again["code"]) == ("ended", "not_live")
    assert await stored_log(lambda: list(LectureEvent.objects.values_list("seq", flat=True))) == [1]


async def test_the_lecturer_and_observers_see_the_audience(monkeypatch):
    monkeypatch.setattr(broadcast, "TICK_SECONDS", 0.1)
    lecture = await sync_to_async(live_lecture)()
    lecturer, _ = await enter(lecture, lecture.lecturer)
    observer, _ = await enter(lecture, await sync_to_async(TeacherFactory)())
    student = await sync_to_async(StudentFactory)()
    viewers = [(await enter(lecture, student))[0], (await enter(lecture, await sync_to_async(StudentFactory)()))[0]]

    counts = []
    for ws in (lecturer, observer):
        audience = await next_of(ws, "lecture.audience")
        while audience["viewers"] != 2:
            audience = await next_of(ws, "lecture.audience")
        counts.append(audience)
    third, _ = await enter(lecture, student)  # the same student in a second tab counts once
    await viewers[1].send_json_to({"type": "ping"})
    first_message = await viewers[1].receive_json_from(timeout=5)
    for ws in (*viewers, third, observer, lecturer):
        await ws.disconnect()

    assert counts == [{"type": "lecture.audience", "viewers": 2}] * 2
    assert first_message == {"type": "pong"}  # viewers are not sent the audience


async def test_joining_and_leaving_are_facts_with_the_seconds_watched():
    lecture = await sync_to_async(live_lecture)()
    student = await sync_to_async(StudentFactory)()
    first, _ = await enter(lecture, student)
    second, _ = await enter(lecture, student)

    await first.disconnect()
    await second.disconnect()

    facts = await stored_log(
        lambda: list(LectureFact.objects.order_by("id").values_list("kind", "user_id", "data__role"))
    )
    left = await stored_log(lambda: LectureFact.objects.get(kind="left").data["seconds"])
    assert facts == [
        ("started", lecture.lecturer_id, None),
        ("joined", student.pk, "viewer"),
        ("left", student.pk, "viewer"),
    ]
    assert 0 < left < 5


# --- A student's notices (ws/lectures/notices/) -----------------------------------------------


async def noticed(user):
    """A student's notice socket, and the lectures it said were live when it opened."""
    ws = await socket("/ws/lectures/notices/", user)
    connected, _ = await ws.connect()
    assert connected is True
    live = await ws.receive_json_from(timeout=5)
    assert live["type"] == "lecture.live"
    return ws, live["lectures"]


async def test_each_student_is_told_of_their_own_lectures_starting_moving_and_being_cancelled():
    lecture, other = await sync_to_async(LectureFactory)(), await sync_to_async(LectureFactory)()
    student, classmate = await sync_to_async(StudentFactory)(), await sync_to_async(StudentFactory)()
    await database_sync_to_async(services.lecture_signup)(lecture=lecture, student=student)
    await database_sync_to_async(services.lecture_signup)(lecture=other, student=classmate)
    mine, live_then = await noticed(student)
    theirs, _ = await noticed(classmate)

    def move() -> None:
        lecture.starts_at += timedelta(minutes=30)
        services.lecture_save(lecture=lecture)

    await database_sync_to_async(move)()
    await database_sync_to_async(services.lecture_start)(lecturer=lecture.lecturer, lecture_id=lecture.pk)
    await database_sync_to_async(services.lecture_cancel)(lecture_id=other.pk, by=other.lecturer)
    moved, started = await mine.receive_json_from(timeout=5), await mine.receive_json_from(timeout=5)
    cancelled = await theirs.receive_json_from(timeout=5)  # the classmate's first notice: none of the student's
    for ws in (mine, theirs):
        await ws.disconnect()

    assert live_then == []
    assert (moved["type"], moved["lecture"]["id"], moved["lecture"]["starts_at"]) == (
        "lecture.moved",
        lecture.pk,
        lecture.starts_at.isoformat(),
    )
    assert (started["type"], started["lecture"]["id"], started["lecture"]["status"]) == (
        "lecture.started",
        lecture.pk,
        "live",
    )
    assert (cancelled["type"], cancelled["lecture"]["id"], cancelled["lecture"]["status"]) == (
        "lecture.cancelled",
        other.pk,
        "cancelled",
    )
    told = await stored_log(lambda: list(LectureFact.objects.filter(kind__in=["moved", "started", "cancelled"])))
    assert [(fact.kind, fact.lecture_id) for fact in told] == [
        ("moved", lecture.pk),
        ("started", lecture.pk),
        ("cancelled", other.pk),
    ]


async def test_a_student_who_reconnects_is_told_which_of_their_lectures_are_live():
    signed_up, not_signed_up = await sync_to_async(LectureFactory)(), await sync_to_async(LectureFactory)()
    student = await sync_to_async(StudentFactory)()
    await database_sync_to_async(services.lecture_signup)(lecture=signed_up, student=student)
    for lecture in (signed_up, not_signed_up):
        await database_sync_to_async(services.lecture_start)(lecturer=lecture.lecturer, lecture_id=lecture.pk)

    ws, live = await noticed(student)
    await ws.disconnect()

    assert [(lecture["id"], lecture["title"], lecture["status"]) for lecture in live] == [
        (signed_up.pk, signed_up.title, "live")
    ]
    assert await stored_log(lambda: LectureConnection.objects.count()) == 0  # told, not watching


async def test_only_students_open_a_notice_socket_and_it_takes_no_other_message():
    teacher, student = await database_sync_to_async(lambda: (TeacherFactory(), StudentFactory()))()

    codes = [await refused_code("/ws/lectures/notices/", teacher), await refused_code("/ws/lectures/notices/")]
    ws, _ = await noticed(student)
    await ws.send_json_to({"type": "lecture.started", "lecture": {"id": 1}})
    answer = await ws.receive_json_from(timeout=5)
    await ws.disconnect()

    assert codes == [4403, 4401]
    assert answer == {"type": "error", "code": "unknown_type", "message": "Unknown message type: lecture.started"}
    assert await stored_log(lambda: LectureFact.objects.count()) == 0
