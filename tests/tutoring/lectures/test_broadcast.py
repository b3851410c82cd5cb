import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from media.board import board_replay
from tests.factories import LectureFactory, StudentFactory
from tests.samples import STROKE
from tests.sockets import socket
from tutoring.lectures import services
from tutoring.lectures.broadcast import EVENTS, board_events
from tutoring.lectures.events import lecture_group


def stored(*contents: dict) -> list[dict]:
    return [{**content, "seq": seq, "at": 10 * seq, "by": "teacher"} for seq, content in enumerate(contents, start=1)]


def test_the_snapshot_draws_the_page_in_view_its_shown_strokes_whole_its_background():
    log = stored(
        {**STROKE, "stroke": "t1", "points": [[1, 2, 0]], "end": False},
        {**STROKE, "stroke": "t1", "points": [[3, 4, 30]], "end": True},
        {**STROKE, "stroke": "t2", "tool": "eraser", "color": "#ffffff"},
        {"type": "board.clear", "id": "t3", "page": 0},
        {**STROKE, "stroke": "t4", "page": 0, "color": "#FF0080", "points": [[5, 6, 0]]},
        {"type": "board.background", "page": 0, "attachment": 3, "x": 1, "y": 2, "width": 300},
        {**STROKE, "stroke": "t5", "page": 1},
    )

    drawn = board_events(board_replay(log), 7)

    assert drawn == [
        {
            "type": "board.stroke",
            "seq": 5,
            "at": 50,
            "by": "teacher",
            "stroke": "t4",
            "page": 0,
            "tool": "pen",
            "color": "#ff0080",
            "width": 4,
            "points": [[5, 6, 0]],
            "end": True,
        },
        {
            "type": "board.background",
            "seq": 7,
            "by": "teacher",
            "page": 0,
            "attachment": 3,
            "x": 1,
            "y": 2,
            "width": 300,
        },
        {"type": "board.page", "seq": 7, "by": "teacher", "page": 0},
    ]


def test_a_stroke_being_drawn_is_sent_as_far_as_it_came():
    log = stored(
        {**STROKE, "stroke": "t1", "points": [[1, 2, 0], [3, 4, 5]], "end": False},
        {**STROKE, "stroke": "t1", "points": [[5, 6, 40]], "end": False},
    )

    (drawn, _) = board_events(board_replay(log), 2)

    # Each point at the server's time for it (the chunk's "at" less its dt back), from the stroke's first.
    assert (drawn["seq"], drawn["at"], drawn["points"], drawn["end"]) == (
        1,
        20,
        [[1, 2, 0], [3, 4, 5], [5, 6, 15]],
        False,
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
async def test_events_published_within_a_frame_reach_a_socket_as_one_frame_once_each_with_gaps_filled():
    lecture = await sync_to_async(LectureFactory)()
    await sync_to_async(services.lecture_start)(lecturer=lecture.lecturer, lecture_id=lecture.pk)
    viewer = await socket(f"/ws/lectures/{lecture.pk}/", await sync_to_async(StudentFactory)())
    await viewer.connect()
    snapshot = await viewer.receive_json_from(timeout=5)
    contents = [{**STROKE, "stroke": f"t{number}"} for number in range(1, 6)]
    log = await sync_to_async(services.lecture_events_append)(lecture_id=lecture.pk, contents=contents)
    layer = get_channel_layer()

    for event in log[:3]:  # three publishes within one frame
        await layer.group_send(lecture_group(lecture.pk), {"type": EVENTS, "events": [event]})
    first = await viewer.receive_json_from(timeout=5)
    await layer.group_send(lecture_group(lecture.pk), {"type": EVENTS, "events": [log[4]]})  # 4 never came
    second = await viewer.receive_json_from(timeout=5)
    await layer.group_send(lecture_group(lecture.pk), {"type": EVENTS, "events": log})  # all again
    repeated = await viewer.receive_nothing(timeout=0.5)
    await viewer.disconnect()

    assert snapshot["last_seq"] == 0
    assert first == {"type": "lecture.frame", "events": log[:3]}
    assert second == {"type": "lecture.frame", "events": log[3:]}
    assert repeated is True
