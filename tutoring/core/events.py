"""Realtime events: sent only from services, only after the transaction commits."""

import logging
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

    def send() -> None:
        try:
            async_to_sync(get_channel_layer().group_send)(group, event)
        except Exception:
            logger.exception("event.send_failed", extra={"group": group, "event_type": event.get("type")})

    transaction.on_commit(send)
