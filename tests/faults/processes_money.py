"""Real processes for the money fault tests: a gunicorn serving the test database, whose worker can be killed.

The web server runs in its own process group against the test database (the tests use ``transactional_db``,
so what they write is committed and the server sees it, and the reverse). Only processes started here are
stopped, by their own ids.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import requests
from django.conf import settings
from django.db import connection

from tests.faults.database import database_url
from tests.polling import wait_for

ROOT = Path(__file__).resolve().parents[2]


def terminate_other_backends() -> int:
    """``pg_terminate_backend`` on every other connection to the test database (never another database)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebServer:
    """``gunicorn flowmart.wsgi`` with one sync worker, on the test database, with the settings given."""

    def __init__(self, **env: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "FLOWMART_ENV": "test",
            "FLOWMART_EXTRA_APPS": "tests.testapp",
            "THROTTLE_ANON": "1000000/min",
            "THROTTLE_USER": "1000000/min",
            "THROTTLE_CHECKOUT": "1000000/min",
            "DB_CONN_MAX_AGE": "0",
            **env,
        }
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> WebServer:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "flowmart.wsgi",
                "--workers=1",
                f"--bind=127.0.0.1:{self.port}",
                "--timeout=120",
                "--graceful-timeout=2",
                "--log-level=warning",
            ],
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
        )
        self.wait_until_serving(timeout=40)
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # our own process group: the master and its worker
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)

    def worker_pid(self) -> int:
        children = psutil.Process(self.process.pid).children()
        assert len(children) == 1, children
        return children[0].pid

    def kill_worker(self) -> int:
        """SIGKILL the worker in the middle of whatever it is doing; the master starts a new one."""
        pid = self.worker_pid()
        os.kill(pid, signal.SIGKILL)
        wait_for(
            lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie", timeout=10, what="kill"
        )
        return pid

    def wait_until_serving(self, *, timeout: float) -> None:
        def serving() -> bool:
            assert self.process.poll() is None, "gunicorn exited"
            try:
                return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(serving, timeout=timeout, what="gunicorn to serve", every=0.2)
