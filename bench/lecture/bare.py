"""The limit: the lecture's broadcast through a bare ``websockets`` server, in a process of its own.

Run as ``python -m bench.lecture.bare FRAME_SECONDS``: it listens on a free port of 127.0.0.1 and prints it.
The socket at ``/lecturer`` is the lecturer; every other socket is a viewer, told
``{"type": "lecture.snapshot", "events": []}`` when it connects. The lecturer's text messages are board events:
each is parsed, numbered and kept until the next frame; every FRAME_SECONDS the kept events are serialized once
as ``{"type": "lecture.frame", "events": [...]}`` and written to every viewer and to the lecturer (its echo).
The lecturer's binary messages (voice) are written to every viewer at once. No database, no channel layer, no
checks: what a lecture's broadcast costs at the least.
"""

import asyncio
import json
import sys
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve


class Room:
    def __init__(self) -> None:
        self.viewers: set[ServerConnection] = set()
        self.lecturer: ServerConnection | None = None
        self.pending: list[dict[str, Any]] = []
        self.seq = 0

    async def handle(self, socket: ServerConnection) -> None:
        if socket.request is not None and socket.request.path == "/lecturer":
            await self.lecture(socket)
            return
        await socket.send('{"type": "lecture.snapshot", "events": []}')
        self.viewers.add(socket)
        try:
            await socket.wait_closed()
        finally:
            self.viewers.discard(socket)

    async def lecture(self, socket: ServerConnection) -> None:
        self.lecturer = socket
        async for message in socket:
            if isinstance(message, bytes):
                broadcast(self.viewers, message)
                continue
            self.seq += 1
            self.pending.append({**json.loads(message), "seq": self.seq})
        self.lecturer = None

    async def frames(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            if not self.pending:
                continue
            frame = json.dumps({"type": "lecture.frame", "events": self.pending})
            self.pending = []
            broadcast(self.viewers if self.lecturer is None else [*self.viewers, self.lecturer], frame)


async def main(frame_seconds: float) -> None:
    room = Room()
    async with serve(room.handle, "127.0.0.1", 0, compression=None, ping_interval=None) as server:
        print(next(iter(server.sockets)).getsockname()[1], flush=True)
        await room.frames(frame_seconds)


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1])))
