"""`make run` stopped by SIGTERM (not only Ctrl-C) stops the embedded PostgreSQL and Redis it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import time
from flowmart import devstack

devstack.stop_on_signals()
services = devstack.EmbeddedServices("probe")
try:
    services.start()
    print(services.redis.pid, services.pg.get_postmaster_info().pid, flush=True)
    time.sleep(600)
except KeyboardInterrupt:
    pass
finally:
    services.stop()
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as stopped.
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


@pytest.mark.timeout(180)
def test_sigterm_stops_the_embedded_services(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["FLOWMART_DATA_DIR"] = str(tmp_path / "data")
    probe = subprocess.Popen(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    redis_pid, postgres_pid = (int(x) for x in probe.stdout.readline().split())
    assert alive(redis_pid) and alive(postgres_pid)

    probe.send_signal(signal.SIGTERM)
    assert probe.wait(timeout=60) == 0

    deadline = time.monotonic() + 30
    while (alive(redis_pid) or alive(postgres_pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (alive(redis_pid), alive(postgres_pid)) == (False, False)
