"""Django's Redis cache with one client, and so one connection pool, per process.

Django keeps a cache object per thread and per async context: in a web process every HTTP request and every
websocket gets its own, and with it a new redis-py pool, so nearly every request that touches the cache opened a
new connection to Redis (and read redis-py's package metadata to introduce itself). redis-py's client and pool are
safe to share between threads, and a forked child replaces the pool's connections on its first use.
"""

from typing import Any

from django.core.cache.backends.redis import RedisCache as BaseRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django.utils.functional import cached_property

_clients: dict[str, RedisCacheClient] = {}


class RedisCache(BaseRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._client_key = repr((server, sorted(params.get("OPTIONS", {}).items())))

    @cached_property
    def _cache(self) -> RedisCacheClient:
        """The client of the first cache object of the process with this location and these options."""
        if self._client_key not in _clients:
            _clients.setdefault(self._client_key, super()._cache)
        return _clients[self._client_key]
