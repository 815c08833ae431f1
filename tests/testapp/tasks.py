"""A task for the command tests: records its attempts on Redis and its effect in the database, and fails as
scripted (``always_fail`` until healed), like the probe's handler."""

from celery import shared_task

from tests.testapp.handlers import probe_redis
from tests.testapp.models import Effect


@shared_task
def probe_command_task(key: str, behaviour: str = "ok") -> None:
    probe_redis().incr(f"probe:command-attempts:{key}")
    if behaviour == "always_fail" and not probe_redis().get(f"probe:healed:{key}"):
        raise RuntimeError("scripted permanent failure")
    Effect.objects.create(key=key)
