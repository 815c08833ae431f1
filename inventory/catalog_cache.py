"""Redis caching of catalog pages and the product API, with precise invalidation.

Cached entries are keyed by *versions* of what they depend on:

* ``product:<slug>``: one product's page / API detail (name, prices, variants, availability);
* ``category:<slug>``: lists filtered to one category (a product counts for its category's ancestors too);
* ``lists``: every other list (all products, search results).

A change bumps only the versions it affects, so only the entries depending on them miss:
a product edit or price change bumps its product version, its category's version and ``lists``;
a stock change bumps the product version, and the list versions only when the product's
stock status changes (lists show "In stock" / "Low stock" / "Out of stock", not unit counts).

Versions are bumped at once *and* again after the surrounding transaction commits, so a reader
that cached the old data in between cannot keep serving it.

The cache is never allowed to fail the business transaction around it (a stock reservation
invalidates here): a read that cannot reach Redis is a miss and the page is built from the
database; a bump that cannot be stored is remembered and stored before this process next reads or
bumps, once Redis answers again. A process that dies meanwhile loses its remembered bumps: an entry
can then be stale for at most ``TIMEOUT`` (docs/operations.md §Redis outage).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from django.core.cache import cache
from django.db import transaction

log = structlog.get_logger(__name__)

PREFIX = "inv:v:"
LISTS = "lists"
TIMEOUT = 600


def product_dep(slug: str) -> str:
    return f"product:{slug}"


def category_dep(slug: str) -> str:
    return f"category:{slug}"


# Version keys whose bump could not be stored (Redis away), to store before this process reads again.
_unstored_bumps: set[str] = set()
_unstored_lock = threading.Lock()


def _versions(deps: list[str]) -> list[str]:
    if _unstored_bumps:
        _bump(())
    keys = [PREFIX + d for d in deps]
    found = cache.get_many(keys)
    missing = {k: time.time_ns() for k in keys if k not in found}
    if missing:
        cache.set_many(missing, timeout=None)
        found.update(missing)
    return [str(found[k]) for k in keys]


def cached(*, key: str, deps: list[str], build: Callable[[], Any], timeout: int = TIMEOUT) -> Any:
    """Return the cached value of ``key`` for the current versions of ``deps``, building it on a miss."""
    versions = ".".join(_versions(deps))
    digest = hashlib.sha1(f"{key}|{versions}".encode(), usedforsecurity=False).hexdigest()
    full_key = f"inv:c:{digest}"
    value = cache.get(full_key)
    if value is None:
        value = build()
        cache.set(full_key, value, timeout=timeout)
    return value


def _bump(deps: Iterable[str]) -> None:
    with _unstored_lock:
        keys = {PREFIX + d for d in deps} | _unstored_bumps
        _unstored_bumps.clear()
    if not keys:
        return
    now = time.time_ns()
    try:
        failed = cache.set_many(dict.fromkeys(keys, f"{now}"), timeout=None)
    except Exception:  # any cache backend: never fail the caller's transaction over a cache write
        log.warning("catalog cache bump failed; kept for the next attempt", exc_info=True)
        failed = keys
    if failed:
        with _unstored_lock:
            _unstored_bumps.update(failed)


def invalidate(deps: Iterable[str]) -> None:
    deps = sorted(set(deps))
    if not deps:
        return
    _bump(deps)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _bump(deps), robust=True)


def query_key(prefix: str, params: dict[str, Any]) -> str:
    return prefix + "?" + "&".join(f"{k}={params[k]}" for k in sorted(params) if params[k] not in (None, ""))
