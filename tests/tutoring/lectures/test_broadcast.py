import json

import pytest
from asgiref.sync import sync_to_async
from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from channels.layers import get_channel_layer
from twisted.internet.testing import StringTransport

from config.web import Wire
from media.board import board_replay
from tests.factories import LectureFactory, StudentFactory
from tests.samples import STROKE
from tests.sockets import socket
from tutoring.lectures import services
from tutoring.lectures.broadcast import EVENTS, PREPARED, WATCHERS, LectureHub, board_events
from tutoring.lectures.events import lecture_group
from tutoring.lectures.selectors import VIEWER


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


class Socket:
    """A socket of this process as the hub sees it: its scope (with its wire, where the server gives it) and what
    went through its consumer."""

    def __init__(self, name: str, wire=None) -> None:
        self.channel_name = name
        self.scope = (
            {"type": "websocket", "extensions": {PREPARED: wire}} if wire is not None else {"type": "websocket"}
        )
        self.sent: list = []

    async def send(self, text_data=None, bytes_data=None, close=False) -> None:
        self.sent.append(text_data if text_data is not None else bytes_data)


def wire() -> tuple[Wire, StringTransport]:
    """The wire of an open autobahn server connection (daphne's kind) writing to a transport that keeps the
    bytes."""
    factory = WebSocketServerFactory()
    factory.protocol = WebSocketServerProtocol
    protocol = factory.buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    protocol.state = protocol.STATE_OPEN
    return Wire(protocol), transport


@pytest.mark.asyncio
async def test_a_message_for_many_sockets_is_framed_once_for_their_wires_and_sent_by_the_others_consumers():
    hub = LectureHub(get_channel_layer(), 1)
    hub.ready.cancel()  # no lecture behind it: only the writing is tested
    (first, first_bytes), (second, second_bytes), (closing, closing_bytes) = wire(), wire(), wire()
    sockets = [Socket("a", first), Socket("b", second), Socket("c"), Socket("d", closing)]
    for local in sockets:
        await hub._snapshot(local, VIEWER, [], viewers=0, mine=None)
    snapshots = [local.sent.pop() for local in sockets]
    closing.protocol.state = closing.protocol.STATE_CLOSING

    await hub._send(WATCHERS, text='{"type": "lecture.frame"}')
    await hub._send(WATCHERS, pcm=b"\x01\x02", but="a")  # a student's voice: never back to them

    frame = b'\x81\x19{"type": "lecture.frame"}'
    assert [json.loads(snapshot)["type"] for snapshot in snapshots] == ["lecture.snapshot"] * 4
    assert (first_bytes.value(), second_bytes.value(), closing_bytes.value()) == (
        frame,
        frame + b"\x82\x02\x01\x02",
        b"",
    )
    assert [socket.sent for socket in sockets] == [[], [], ['{"type": "lecture.frame"}', b"\x01\x02"], []]
