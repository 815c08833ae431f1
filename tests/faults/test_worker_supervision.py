"""Issue 12 item 7: a dead worker is noticed and replaced.

``honcho`` runs the Procfile's worker line, as ``make run`` does, against a Redis of our own. The test
SIGKILLs the Celery worker: the supervisor starts a new one and honcho (with it the rest of the stack)
keeps running. Then it freezes the new worker (SIGSTOP, a wedged worker that no supervisor sees die):
its heartbeat goes stale and ``/readyz`` answers 503 naming the worker.
"""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest

from flowmart.worker_heartbeat import heartbeat_age
from tests.faults import processes_uptime
from tests.faults.database import database_url
from tests.faults.processes_uptime import BIN, Process, alive, flowmart_env, supervised_child, wait_for

own_redis = processes_uptime.own_redis
started = processes_uptime.started
test_database_name = processes_uptime.test_database_name

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(150)]


def test_make_run_replaces_a_killed_worker_and_readiness_names_a_worker_that_stops_heartbeating(
    own_redis, test_database_name, started, tmp_path, settings, client
):
    queue = f"faults-worker-{uuid.uuid4().hex[:8]}"
    env = flowmart_env(
        database_url=database_url(test_database_name),
        redis_url=own_redis.url,
        queue=queue,
        WORKER_HEARTBEAT_SECONDS="1",
        WORKER_CONCURRENCY="1",
        PORT="0",
    )
    honcho = started(
        Process("honcho", [str(BIN / "honcho"), "start", "-f", "Procfile", "worker"], env=env, log_dir=tmp_path)
    )
    # This process reads the heartbeat where the worker writes it: our Redis, the worker's key prefix and queue.
    settings.CACHES = {
        "default": {
            "BACKEND": "flowmart.outage_tolerant_cache.OutageTolerantRedisCache",
            "LOCATION": own_redis.url,
            "KEY_PREFIX": env["CACHE_KEY_PREFIX"],
        }
    }
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    settings.WORKER_HEARTBEAT_STALE_SECONDS = 4

    def worker_ready() -> bool:
        return client.get("/readyz").json()["checks"]["worker"] == "ok"

    wait_for(worker_ready, timeout=60, what=f"the worker's first heartbeat\n{honcho.log_text()[-2000:]}", every=0.5)
    first = supervised_child(honcho.pid, "worker")
    assert first is not None

    os.kill(first, signal.SIGKILL)
    killed_at = time.time()

    replacement = wait_for(
        lambda: (pid := supervised_child(honcho.pid, "worker")) not in (None, first) and pid,
        timeout=30,
        what="the supervisor to start a new worker",
    )
    assert alive(replacement) and not alive(first)
    wait_for(
        lambda: (age := heartbeat_age()) is not None and age < time.time() - killed_at,
        timeout=60,
        what="a heartbeat from the new worker",
        every=0.5,
    )
    assert honcho.process.poll() is None, "honcho, and the stack it runs, stayed up"
    assert client.get("/readyz").status_code == 200

    os.kill(replacement, signal.SIGSTOP)  # wedged: alive to the supervisor, silent to everyone else
    try:
        time.sleep(settings.WORKER_HEARTBEAT_STALE_SECONDS + 1.5)
        response = client.get("/readyz")
    finally:
        os.kill(replacement, signal.SIGCONT)

    assert response.status_code == 503
    assert response.json()["down"] == ["worker"]
    assert response.json()["checks"]["worker"].startswith("down: last worker heartbeat")
