"""What waits in the real Redis broker."""

import json

import redis


def queued_tasks(redis_client: redis.Redis, queue: str) -> list[tuple[str, str]]:
    """The tasks waiting in a Celery queue, oldest first, as (task name, arguments as Celery shows them)."""
    messages = [json.loads(message) for message in reversed(redis_client.lrange(queue, 0, -1))]
    return [(message["headers"]["task"], message["headers"]["argsrepr"]) for message in messages]
