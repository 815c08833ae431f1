"""Translate one ``REDIS_URL`` into the spellings Django's cache and Celery want.

``REDIS_URL`` may be a TCP URL (``redis://host:6379/0``) or a Unix socket
(``unix:///path/redis.sock?db=0``, which the embedded Redis uses). redis-py
reads both; kombu wants a socket spelled ``redis+socket:///path``.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit


def django_cache_location(redis_url: str) -> str:
    return redis_url


def celery_broker_url(redis_url: str) -> str:
    parts = urlsplit(redis_url)
    if parts.scheme == "unix":
        db = parse_qs(parts.query).get("db", ["0"])[0]
        return f"redis+socket://{parts.path}?virtual_host={db}"
    return redis_url
