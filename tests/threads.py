"""Real concurrency for the tests: threads started together, each on its own database connection."""

from __future__ import annotations

import threading

from django.db import connection


def run_in_threads(count, target):
    """Start ``count`` threads together; each runs ``target(i)`` on its own connection and closes it."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(i):
        try:
            barrier.wait(timeout=30)
            results[i] = target(i)
        except Exception as exc:  # recorded and asserted on by the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock?)"
    return results
