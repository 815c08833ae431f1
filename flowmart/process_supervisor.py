"""Keep one command running: restart it when it dies, stop it when asked (docs/operations.md §Worker).

    python -m flowmart.process_supervisor --name worker -- celery -A flowmart worker ...

The Procfile runs the Celery worker and beat under it. honcho (``make run``) stops the whole stack
as soon as any of its processes exits; a worker that crashed (killed by the OOM killer, or the
kombu "Unrecoverable error" seen during a Redis outage) would take the web server down with it, or,
on a platform that does not restart it, leave shipments, emails, captures and sweeps stopped. Under
the supervisor the command is started again after a short back-off (1 s, doubling to 30 s while it
keeps dying young), and only a SIGTERM/SIGINT to the supervisor stops it (forwarded to the command,
which gets ``--grace`` seconds to finish its tasks).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
# A command that ran at least this long before dying starts again after the first back-off.
HEALTHY_RUN_SECONDS = 60.0


def say(name: str, message: str) -> None:
    print(f"[supervisor:{name}] {message}", file=sys.stderr, flush=True)


class Supervisor:
    def __init__(self, name: str, command: list[str], *, grace_seconds: float) -> None:
        self.name = name
        self.command = command
        self.grace_seconds = grace_seconds
        self.child: subprocess.Popen | None = None
        self.stopping = False

    def on_signal(self, signum, _frame) -> None:
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signum)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        backoff = BACKOFF_FIRST_SECONDS
        while not self.stopping:
            started = time.monotonic()
            self.child = subprocess.Popen(self.command)
            say(self.name, f"started pid {self.child.pid}: {' '.join(self.command)}")
            code = self._wait()
            if self.stopping:
                return code
            lived = time.monotonic() - started
            backoff = BACKOFF_FIRST_SECONDS if lived >= HEALTHY_RUN_SECONDS else min(backoff * 2, BACKOFF_MAX_SECONDS)
            say(self.name, f"pid {self.child.pid} exited with {code} after {lived:.0f}s; restarting in {backoff:.0f}s")
            deadline = time.monotonic() + backoff
            while not self.stopping and time.monotonic() < deadline:
                time.sleep(0.1)
        return 0

    def _wait(self) -> int:
        """The child's exit code; once we are stopping, kill it if it outlives the grace period."""
        while True:
            try:
                return self.child.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                if self.stopping:
                    try:
                        return self.child.wait(timeout=self.grace_seconds)
                    except subprocess.TimeoutExpired:
                        say(self.name, f"pid {self.child.pid} did not stop in {self.grace_seconds:.0f}s; killing it")
                        self.child.kill()
                        return self.child.wait()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default="process")
    parser.add_argument("--grace", type=float, default=float(os.environ.get("SUPERVISOR_GRACE_SECONDS", 30)))
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to keep running after --")
    return Supervisor(args.name, command, grace_seconds=args.grace).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
