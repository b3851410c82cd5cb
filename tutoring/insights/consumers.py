"""The administrators' live view over a websocket: the figures of ``tutoring.insights.live`` for one place, on
connect and again whenever they change.

How changes arrive: each socket looks again every ``INSIGHTS_LIVE_SECONDS`` (2 s by default) and sends the
figures only when they differ from what it sent last; the counting itself is shared through the cache
(``live_figures_read``), so a place is counted about once per interval whatever the number of sockets and web
processes watching it. The lag from a committed change (a question queued or accepted, a session started or
ended, a lecture going live, a teacher on or off duty) to the screen is therefore at most about two intervals
plus one count: under 5 s with the defaults, well inside the minute the live views may lag.

Why not events: the apps below insights may not import it, and their events go to the groups of one question,
one duty subject, one room or one lecture; folding all of them into per-place figures would mean a subscription
to every such group, or a message per change to every watching administrator (group_send fan-out is the
expensive path measured in ARCHITECTURE.md). Polling a handful of indexed counts costs in proportion to the
places watched, not to the city's traffic. Why not a beat task: it would need a registry of the places being
watched, and the embedded default (``make demo``: eager tasks, no beat, the in-memory channel layer) would need
another path; a socket's own timer works the same in both."""

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from tutoring.accounts.models import User
from tutoring.core.consumers import BaseConsumer, database_call
from tutoring.core.errors import ServiceError
from tutoring.insights.live import live_figures_read, live_query
from tutoring.insights.selectors import Filters, insights_filters

logger = logging.getLogger(__name__)


@database_call
def live_filters(user: User, values: dict[str, Any]) -> Filters:
    """The viewer's place, checked: Http404 for anyone who may not read insights, ServiceError for a place
    outside their scope."""
    return insights_filters(user=user, query=live_query(values))


@database_call
def live_reading(filters: Filters) -> dict[str, Any]:
    return live_figures_read(filters)


class LiveFiguresConsumer(BaseConsumer):
    """``ws/insights/live/?district=&school=``: ``live.figures`` events for one place within the viewer's scope;
    ``place.choose`` (``{"district": id, "school": id}``, both optional) moves to another one."""

    inbound_types = frozenset({"ping", "place.choose"})
    errors = {
        "invalid_message": _("A message is a JSON object of at most 64 KiB with a text 'type'."),
        "invalid_json": _("The message is not valid JSON."),
        "unknown_type": _("Unknown message type: this page sends only ping and place.choose."),
    }

    async def connect(self) -> None:
        query = dict(parse_qsl(self.scope["query_string"].decode()))
        try:
            self.filters = await live_filters(self.user, query)
        except Http404:
            await self.refuse(4403)
            return
        except ServiceError:
            await self.refuse(4404)
            return
        self.sent: dict[str, Any] | None = None
        await self.accept()
        await self.figures_send()
        self.watching = asyncio.create_task(self.watch())

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "watching"):
            self.watching.cancel()

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(settings.XUEWEN["INSIGHTS_LIVE_SECONDS"])
            try:
                await self.figures_send()
            except Exception:  # a database or cache hiccup: try again at the next tick
                logger.exception("insights.live_failed")

    async def figures_send(self) -> None:
        """The figures of the place, unless they are what this socket was sent last."""
        reading = await live_reading(self.filters)
        changed = {key: value for key, value in reading.items() if key != "at"}
        if changed != self.sent:
            self.sent = changed
            await self.send_json({"type": "live.figures", **reading})

    async def receive_place_choose(self, content: dict[str, Any]) -> None:
        try:
            self.filters = await live_filters(self.user, content)
        except Http404:  # no longer a reader of insights
            await self.close(code=4403)
            return
        except ServiceError as refused:
            await self.send_json({"type": "error", "code": refused.code, "message": str(refused.message)})
            return
        self.sent = None
        await self.figures_send()

    async def send_error(self, code: str, message: str) -> None:
        await super().send_error(code, str(self.errors.get(code, message)))
