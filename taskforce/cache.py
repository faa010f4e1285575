"""Django's Redis cache, made to survive a Redis outage (issue #9: pages and forms keep working).

The cache holds nothing that is only there: sign-in rate limits, lockouts and throttles. With the stock
backend every sign-in would fail with a 500 while Redis is down. This backend serves those calls from a
per-process memory cache instead, and tries Redis again a few seconds later; when Redis answers it is used
again. Limits and lockouts therefore still apply during an outage, per process rather than site-wide, and
what was counted in memory is not carried over to Redis afterwards.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
RETRY_AFTER_SECONDS = 5.0


def _resilient(name: str):
    def method(self: ResilientRedisCache, *args: Any, **kwargs: Any) -> Any:
        if time.monotonic() >= self._retry_at:
            try:
                return getattr(RedisCache, name)(self, *args, **kwargs)
            except REDIS_DOWN as exc:
                logger.warning("Redis cache unreachable, using process memory for %.0fs: %s", RETRY_AFTER_SECONDS, exc)
                self._retry_at = time.monotonic() + RETRY_AFTER_SECONDS
        return getattr(self._fallback, name)(*args, **kwargs)

    method.__name__ = name
    return method


class _ClientPerPool(RedisCacheClient):
    """Django's Redis cache client, keeping one redis.Redis per connection pool.

    Django builds a new redis.Redis for every cache call, and its constructor registers some 170 response
    callbacks each time: about 0.2 ms of CPU per call, several times the round trip to a local Redis. The
    client holds no state of its own beyond its pool (which is thread-safe), so one per pool serves.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class ResilientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ClientPerPool
        # LocMemCache keeps its data per name at module level: every thread's instance shares one store.
        self._fallback = LocMemCache(
            "taskforce-redis-fallback", {k: v for k, v in params.items() if k in ("TIMEOUT", "KEY_PREFIX", "VERSION")}
        )
        self._retry_at = 0.0

    def degraded(self) -> bool:
        """True while calls go to the per-process fallback: what one process stores, the others do not see."""
        return time.monotonic() < self._retry_at

    add = _resilient("add")
    get = _resilient("get")
    set = _resilient("set")
    touch = _resilient("touch")
    delete = _resilient("delete")
    get_many = _resilient("get_many")
    has_key = _resilient("has_key")
    incr = _resilient("incr")
    set_many = _resilient("set_many")
    delete_many = _resilient("delete_many")
    clear = _resilient("clear")
