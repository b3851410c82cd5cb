import asyncio
import socket

import pytest
import redis
from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError

from config.channels import LOST, RedisChannelLayer

pytestmark = pytest.mark.asyncio


def closed_port() -> int:
    """A port nothing listens on, as a Redis that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def layer(address: str) -> RedisChannelLayer:
    return RedisChannelLayer(hosts=[{"address": address}], prefix=f"{settings.CHANNEL_LAYER_PREFIX}-lost-test")


async def test_every_receiver_is_told_when_redis_comes_back_empty():
    """redis-py reconnects by itself: nothing fails, yet the groups are gone. The missing marker tells."""
    channels = layer(settings.REDIS_URL)
    first, second = await channels.new_channel(), await channels.new_channel()
    receiving = [asyncio.create_task(channels.receive(first)), asyncio.create_task(channels.receive(second))]
    client = redis.Redis.from_url(settings.REDIS_URL)
    while not client.exists(channels.marker):
        await asyncio.sleep(0.05)
    await channels.send(first, {"type": "before"})
    assert await asyncio.wait_for(receiving[0], timeout=5) == {"type": "before"}
    receiving[0] = asyncio.create_task(channels.receive(first))

    client.delete(channels.marker)  # as a restart without persistence loses it

    assert await asyncio.wait_for(asyncio.gather(*receiving), timeout=10) == [{"type": LOST}, {"type": LOST}]
    await channels.send(first, {"type": "after"})
    assert await asyncio.wait_for(channels.receive(first), timeout=10) == {"type": "after"}  # no second alarm
    await channels.flush()


async def test_a_receiver_is_told_when_redis_is_down_and_leaving_a_group_does_not_fail():
    channels = layer(f"redis://127.0.0.1:{closed_port()}/0")
    channel = await channels.new_channel()

    assert await asyncio.wait_for(channels.receive(channel), timeout=30) == {"type": LOST}
    await channels.group_discard("question.1", channel)  # logged, not raised
    with pytest.raises(RedisConnectionError):
        await channels.group_add("question.1", channel)  # a socket cannot join: its consumer says come back


async def test_a_burst_reaches_every_channel_of_the_process_in_order_and_a_cancelled_receive_loses_no_other():
    channels = layer(settings.REDIS_URL)
    names = [await channels.new_channel() for _ in range(20)]
    leaving = await channels.new_channel()
    for name in [*names, leaving]:
        await channels.group_add("burst", name)
    waiting = asyncio.create_task(channels.receive(leaving))
    while leaving not in channels.waiters:
        await asyncio.sleep(0)
    for n in range(50):
        await channels.send(names[n % 20], {"type": "direct", "n": n})
    await channels.group_send("burst", {"type": "everyone"})  # one message in Redis for all 21 channels
    waiting.cancel()  # that socket closed meanwhile
    expected = {
        name: [*({"type": "direct", "n": n} for n in range(index, 50, 20)), {"type": "everyone"}]
        for index, name in enumerate(names)
    }

    received = {
        name: [await asyncio.wait_for(channels.receive(name), timeout=5) for _ in expected[name]] for name in names
    }

    assert received == expected
    assert set(channels.pending) <= {leaving}  # nothing else left over
    assert not channels.waiters
    await channels.flush()
