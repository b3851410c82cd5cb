from typing import Any

from django.utils.functional import Promise
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# Redis unreachable: from the cache, the channel layer or the Celery broker. What depends on it is retried by the
# client (503) or recovered from the database by the sweeps; never a 500.
OUTAGE_ERRORS: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError, BrokerError)


class ServiceError(Exception):
    """A request the domain refuses, with a stable code and a message for the user.

    ``status`` is the HTTP status an API answers with; ``field`` names the input at fault.
    """

    def __init__(self, code: str, message: str | Promise, *, status: int = 400, field: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.status = status
        self.field = field


def error_body(code: str, message: Any, field: str | None = None) -> dict[str, Any]:
    """The one shape of every API error: ``{"error": {"code", "message", "field"}}``."""
    return {"error": {"code": code, "message": str(message), "field": field}}
