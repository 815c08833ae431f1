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
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.core.cache import cache
from django.db import transaction

PREFIX = "inv:v:"
LISTS = "lists"
TIMEOUT = 600


def product_dep(slug: str) -> str:
    return f"product:{slug}"


def category_dep(slug: str) -> str:
    return f"category:{slug}"


def _versions(deps: list[str]) -> list[str]:
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
    now = time.time_ns()
    cache.set_many({PREFIX + d: f"{now}" for d in deps}, timeout=None)


def invalidate(deps: Iterable[str]) -> None:
    deps = sorted(set(deps))
    if not deps:
        return
    _bump(deps)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _bump(deps), robust=True)


def query_key(prefix: str, params: dict[str, Any]) -> str:
    return prefix + "?" + "&".join(f"{k}={params[k]}" for k in sorted(params) if params[k] not in (None, ""))
