import gc
import socket
import weakref

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from twisted.internet import tcp
from twisted.internet.testing import MemoryReactor

from config.web import COLLECTOR_THRESHOLDS, Wire, collector_settled


def connection() -> tuple[Wire, tcp.Server, socket.socket]:
    """An open websocket over a real TCP-like socket (one end of a pair), as daphne holds it, and the client's
    end; the reactor only records what the transport asks of it."""
    server_end, client_end = socket.socketpair()
    server_end.setblocking(False)
    client_end.setblocking(False)
    factory = WebSocketServerFactory()
    factory.protocol = WebSocketServerProtocol
    protocol = factory.buildProtocol(None)
    transport = tcp.Server(server_end, protocol, ("127.0.0.1", 1), None, 1, MemoryReactor())
    protocol.makeConnection(transport)
    protocol.state = protocol.STATE_OPEN
    return Wire(protocol), transport, client_end


def received(client_end: socket.socket) -> bytes:
    """Everything the client's end can read now."""
    chunks = []
    while True:
        try:
            chunk = client_end.recv(1 << 20)
        except BlockingIOError:
            return b"".join(chunks)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def test_a_frame_goes_straight_to_the_socket_when_nothing_is_waiting():
    wire, transport, client_end = connection()

    wire.write(wire.frame(b'{"type": "lecture.frame"}', binary=False))
    wire.write(wire.frame(b"\x01\x02", binary=True))

    assert received(client_end) == b'\x81\x19{"type": "lecture.frame"}\x82\x02\x01\x02'
    assert (transport._tempDataBuffer, transport.dataBuffer) == ([], b"")
    assert transport.reactor.getWriters() == []  # the loop was never asked to watch the socket


def test_a_frame_queues_behind_what_the_socket_has_waiting_in_order():
    wire, transport, client_end = connection()
    transport.write(b"earlier")  # a consumer's send the loop has not written yet

    wire.write(wire.frame(b"ab", binary=False))

    assert received(client_end) == b""
    assert transport._tempDataBuffer == [b"earlier", b"\x81\x02ab"]
    assert transport.reactor.getWriters() == [transport]


def test_what_the_kernel_does_not_take_is_left_to_the_transport():
    wire, transport, client_end = connection()
    payload = bytes(range(256)) * 40_000  # more than a socket's buffers hold

    frame = wire.frame(payload, binary=True)
    wire.write(frame)

    waiting = b"".join(transport._tempDataBuffer)
    sent = frame.payloadHybi[: len(frame.payloadHybi) - len(waiting)]
    assert 0 < len(waiting) < len(frame.payloadHybi)
    assert sent + waiting == frame.payloadHybi
    assert transport.reactor.getWriters() == [transport]
    assert received(client_end) == sent


def test_a_closing_socket_gets_nothing():
    wire, transport, client_end = connection()
    wire.protocol.state = wire.protocol.STATE_CLOSING

    wire.write(wire.frame(b"ab", binary=False))

    assert received(client_end) == b""
    assert (transport._tempDataBuffer, transport.reactor.getWriters()) == ([], [])


class Node:
    """An object in a cycle of its own: only the collector frees it."""

    def __init__(self) -> None:
        self.itself = self


def test_the_collector_frees_the_startups_garbage_freezes_the_rest_and_collects_the_young_less_often():
    thresholds = gc.get_threshold()
    gc.disable()  # no collection but the one under test
    garbage = weakref.ref(Node())
    try:
        alive = garbage() is not None

        collector_settled()

        assert (alive, garbage() is None, gc.get_freeze_count() > 0, gc.get_threshold()) == (
            True,
            True,
            True,
            COLLECTOR_THRESHOLDS,
        )
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        gc.enable()
