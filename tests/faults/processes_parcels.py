"""A hold or a cancel in its own process, for the parcel-stop fault tests (tests/faults/test_parcel_stops.py): it
stops the order's parcels through the EasyPost adapter against the test's EasyPost stand-in, and the test SIGKILLs
it at a point of its choosing (the stand-in holds the void, or the test holds the order's row).

Run as a module, it is the child side: ``python -m tests.faults.processes_parcels hold|cancel <order id> <user id>``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from django.db import connection

from tests.faults.processes_durable import PYTHON, ROOT, child_env
from tests.polling import wait_for

APPLICATION_NAME = "fm-fault-parcel-stop"  # the child's database sessions, to see them gone


class StoppingOrder:
    """``order_cancel`` (by the customer) or ``order_hold`` (by staff) of one order, in a child process."""

    def __init__(self, *, action: str, order_id: int, user_id: int, easypost_url: str) -> None:
        from tests.shipping.easypost_standin import API_KEY, ORIGIN  # not in the child: it imports the app

        self.log = tempfile.NamedTemporaryFile(prefix="fm-fault-stop-", suffix=".log", delete=False)  # noqa: SIM115
        env = child_env(
            EASYPOST_API_KEY=API_KEY,
            EASYPOST_API_BASE=easypost_url,
            EASYPOST_FROM_ADDRESSES=json.dumps({"default": ORIGIN}),
            EASYPOST_TIMEOUT_SECONDS="60",  # the test kills it long before it would give up on the carrier
            PGAPPNAME=APPLICATION_NAME,
        )
        self.process = subprocess.Popen(
            [PYTHON, "-m", "tests.faults.processes_parcels", action, str(order_id), str(user_id)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def alive(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the child ended early: {Path(self.log.name).read_text()}")
        return True

    def kill(self) -> None:
        """SIGKILL: no except, no finally, no rollback of what was committed; then wait until PostgreSQL has
        ended its sessions (a session waiting on a row lock only notices once it gets the row)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def wait_sessions_gone(self) -> None:
        wait_for(lambda: sessions_of_the_child() == 0, timeout=30, what="the killed child's database sessions to end")


def sessions_of_the_child() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
            [APPLICATION_NAME],
        )
        return cursor.fetchone()[0]


def sessions_blocked_by(pid: int) -> int:
    """How many sessions wait for a lock the session ``pid`` holds."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [pid])
        return cursor.fetchone()[0]


def _stop(action: str, order_id: int, user_id: int) -> None:
    """Child side: the customer cancels, or staff hold, the order (the parent kills us on the way)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from orders import services
    from orders.models import Order

    order = Order.objects.get(pk=order_id)
    user = get_user_model().objects.get(pk=user_id)
    if action == "cancel":
        services.order_cancel(order=order, by=user, actor="customer", reason="changed my mind")
    else:
        services.order_hold(
            order=order, by=user, actor="staff", reason="address looks like fraud", expected_delay_days=5
        )
    print("finished: the parent should have killed us before", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowmart.settings")
    _stop(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
