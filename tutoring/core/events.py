"""Realtime events: sent only from services, only after the transaction commits."""

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def send_event_on_commit(group: str, event: dict[str, Any]) -> None:
    """Send ``event`` to a channel-layer group once the current transaction commits.

    Outside a transaction it is sent at once. A failure to send is logged, never
    raised: the database already holds the truth and clients reload it on connect.
    """
    send_events_on_commit([(group, event)])


def send_events_on_commit(events: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Send many (group, event) pairs after commit, concurrently: one queue refresh to every waiting student
    costs one round trip through the layer, not one per student."""

    async def send_all() -> None:
        layer = get_channel_layer()
        results = await asyncio.gather(
            *(layer.group_send(group, event) for group, event in events), return_exceptions=True
        )
        for (group, event), result in zip(events, results, strict=True):
            if isinstance(result, BaseException):
                logger.error(
                    "event.send_failed", exc_info=result, extra={"group": group, "event_type": event.get("type")}
                )

    def send() -> None:
        try:
            async_to_sync(send_all)()
        except Exception:
            logger.exception("event.send_failed", extra={"events": len(events)})

    if events:
        transaction.on_commit(send)
