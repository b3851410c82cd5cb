"""The Redis channel layer, with a connection pool that waits instead of failing.

channels_redis builds a plain redis-py pool per event loop, which raises ``MaxConnectionsError`` as soon
as more than ``max_connections`` (100 by default) commands are in flight in one process: a burst of
sockets connecting or of events to send then crashes consumers. A blocking pool queues the excess for up
to ``timeout`` seconds and keeps the number of connections per process bounded.
"""

from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer
from redis.asyncio import BlockingConnectionPool


class RedisChannelLayer(BaseRedisChannelLayer):
    def create_pool(self, index: int) -> BlockingConnectionPool:
        options = dict(self.hosts[index])
        return BlockingConnectionPool.from_url(options.pop("address"), **options)
