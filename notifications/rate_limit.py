"""Per-recipient send rate limit on the shared Redis cache (fixed window).

A message over the limit is not dropped: the caller waits for the next window.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache


def rate_limit_take(*, recipient_key: str) -> float | None:
    """Count one message for the recipient; None if allowed, else seconds until the next window."""
    limit = settings.NOTIFICATIONS_RATE_LIMIT_PER_RECIPIENT
    window = settings.NOTIFICATIONS_RATE_LIMIT_WINDOW_SECONDS
    if limit <= 0:
        return None
    now = time.time()
    bucket = int(now // window)
    key = f"notifications:rate:{recipient_key}:{bucket}"
    cache.add(key, 0, timeout=window * 2)
    count = cache.incr(key)
    if count <= limit:
        return None
    cache.decr(key)
    return max((bucket + 1) * window - now, 0.5)
