"""The probe's handler writes its effect *before* it fails, so a test can see that
a failed attempt's writes are rolled back and only the successful one stays."""

import redis
from django.conf import settings

from flowmart.events.registry import subscribe
from tests.testapp.events import SpineProbe
from tests.testapp.models import Effect


def probe_redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


@subscribe(SpineProbe)
def record_probe_effect(event: SpineProbe) -> None:
    attempt = probe_redis().incr(f"probe:attempts:{event.key}")
    Effect.objects.create(key=event.key)
    if event.behaviour == "fail_twice" and attempt <= 2:
        raise RuntimeError(f"scripted failure {attempt} of 2")
    if event.behaviour == "always_fail" and not probe_redis().get(f"probe:healed:{event.key}"):
        raise RuntimeError("scripted permanent failure")
