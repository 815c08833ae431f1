"""Django's Redis cache, except that an unreachable Redis is a cache miss, never an error.

Everything FlowMart keeps in the cache can be lost: catalog pages are rebuilt from the database,
sessions are ``cached_db`` (the database row is the truth), DRF throttles and allauth's rate limits
count in it. So while Redis is away (restart, failover, network blip) a read is a miss, a write is
dropped and a counter starts from zero, which makes throttles and rate limits fail open: the shop
keeps selling, a little slower and unthrottled, instead of answering 500 to everyone
(docs/operations.md §Redis outage).

After a failure the cache stays "down" for ``OUTAGE_RETRY_SECONDS`` before it tries Redis again, so
a Redis that hangs instead of refusing costs one socket timeout per interval, not one per call.
``ping()`` is the one call that still raises: readiness (``/readyz``) must see the outage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import structlog
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

T = TypeVar("T")

OUTAGE_RETRY_SECONDS = 2.0

# location -> monotonic time until which Redis counts as down (shared by every thread's cache instance).
_down_until: dict[str, float] = {}
_down_lock = threading.Lock()


class OutageTolerantRedisCache(RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._location = ",".join(self._servers)

    def _tolerant(self, operation: str, call: Callable[[], T], fallback: T) -> T:
        location = self._location
        if _down_until.get(location, 0.0) > time.monotonic():
            return fallback
        try:
            result = call()
        except RedisError as exc:
            with _down_lock:
                was_up = _down_until.get(location, 0.0) == 0.0
                _down_until[location] = time.monotonic() + OUTAGE_RETRY_SECONDS
            if was_up:
                log.warning(
                    "redis unreachable: the cache answers misses until it is back", operation=operation, error=repr(exc)
                )
            return fallback
        if _down_until.get(location):
            with _down_lock:
                if _down_until.pop(location, None) is not None:
                    log.info("redis reachable again: the cache is back", operation=operation)
        return result

    def ping(self) -> bool:
        """Raises when Redis does not answer (for readiness probes); never degraded."""
        return bool(self._cache.get_client(write=True).ping())

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        return self._tolerant("add", lambda: RedisCache.add(self, key, value, timeout, version), False)

    def get(self, key, default=None, version=None) -> Any:
        return self._tolerant("get", lambda: RedisCache.get(self, key, default, version), default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> None:
        self._tolerant("set", lambda: RedisCache.set(self, key, value, timeout, version), None)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        return self._tolerant("touch", lambda: RedisCache.touch(self, key, timeout, version), False)

    def delete(self, key, version=None) -> bool:
        return self._tolerant("delete", lambda: RedisCache.delete(self, key, version), False)

    def get_many(self, keys, version=None) -> dict:
        return self._tolerant("get_many", lambda: RedisCache.get_many(self, keys, version), {})

    def has_key(self, key, version=None) -> bool:
        return self._tolerant("has_key", lambda: RedisCache.has_key(self, key, version), False)

    def incr(self, key, delta=1, version=None) -> int:
        # As if the counter had just started: a limit counted here fails open.
        return self._tolerant("incr", lambda: RedisCache.incr(self, key, delta, version), delta)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None) -> list:
        # Django's contract: the keys that could not be stored (all of them, during an outage).
        return self._tolerant("set_many", lambda: RedisCache.set_many(self, data, timeout, version), list(data))

    def delete_many(self, keys, version=None) -> None:
        self._tolerant("delete_many", lambda: RedisCache.delete_many(self, keys, version), None)

    def clear(self) -> None:
        self._tolerant("clear", lambda: RedisCache.clear(self), None)
