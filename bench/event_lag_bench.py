"""Event delivery at a steady rate: outbox-to-handled lag p50/p95/p99 while the real worker and relay run.

    .venv/bin/python bench/event_lag_bench.py [--rate 200] [--seconds 60] [--handlers real|probe]
        [--worker-concurrency 2] [--publishers 2]

Run it with the usual ``DATABASE_URL`` / ``REDIS_URL`` / ``CELERY_QUEUE`` (a migrated database of its own, as for
``journey_bench.py``) on a machine that is otherwise quiet. It starts the Celery worker (``journey_bench``'s, prefork,
``--worker-concurrency``), waits until it handles a first batch, then ``--publishers`` threads publish ``--rate``
events per second in all for ``--seconds``, each event in its own transaction through the real outbox
(``publish()``: the outbox row, and after commit the transaction's relay task), on a fixed schedule (a publisher
that falls behind catches up at once, so the rate achieved says whether the generator kept up).

``--handlers real`` (default): the events alternate between ``ShipmentDispatched`` (orders' capture-on-dispatch,
notifications' dispatch message) and ``OrderCancelled`` (shipping's cancel-shipments, inventory's stock release,
notifications' cancellation message): five deliveries per two events, each a handler of the real apps doing its
real reads and writes (for orders and shipments that do not exist, so nothing cascades), and one notification to
send per event (the worker sends it through the configured backends). ``--handlers probe``: the test suite's
``SpineProbe`` and its handler (one row inserted; one Redis increment, on a new Redis connection each time),
nearly the relay alone; it needs the test app (``FLOWMART_EXTRA_APPS=tests.testapp``, set here, and its table,
created here with ``migrate --run-syncdb``).

Printed: events published and the rate achieved; deliveries handled and dead letters (and retried); the lag
(``Delivery.processed_at - OutboxEvent.created_at``) p50/p95/p99 of every delivery of the run's events, and of
those published in the last half of the run (steady state, when a backlog would show); the backlog when
publishing stopped and the time to drain it; CPU per event (psutil) of the worker's tree, of the database's
PostgreSQL backends (and of the whole server, other databases' work included) and of the publishers (this process);
new database connections and transactions per event (``pg_stat_database``). The target (issue 17): p99 < 1 s
at 200 events/s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta

from journey_bench import (
    OWN_STATEMENTS,
    CpuMeter,
    _django,
    drained,
    lag_figures,
    postmaster_pid,
    settled_db_counters,
    stack_env,
    start_worker,
    stop,
)

PROBE_APP = "tests.testapp"
WARM_UP_EVENTS = 20


# -- the events -------------------------------------------------------------------------------------------------
def real_event(run: str, n: int):
    """Alternately a dispatched shipment and a cancelled order, of orders that do not exist (no cascade)."""
    from django.utils import timezone

    from orders.events import OrderCancelled
    from shipping.events import ShipmentDispatched

    order_number = f"EVLAG-{run}-{n}"
    email = f"evlag-{run}-{n}@example.com"  # one recipient each: the per-recipient rate limit stays out of the way
    if n % 2:
        return OrderCancelled(
            correlation_id=order_number,
            order_number=order_number,
            user_id=None,
            customer_email=email,
            reason="event lag bench",
            cancelled_by="system",
            refunded_minor=0,
            currency="USD",
        )
    return ShipmentDispatched(
        correlation_id=order_number,
        order_number=order_number,
        user_id=None,
        customer_email=email,
        shipment_number=f"SH-{order_number}",
        kind="order",
        warehouse_code="bench",
        carrier="sandbox",
        tracking_number=f"TRK{n}",
        tracking_url="",
        lines=[{"sku": "BENCH-1", "name": "Bench item", "quantity": 1}],
        dispatched_at=timezone.now().isoformat(),
    )


def probe_event(run: str, n: int):
    from tests.testapp.events import SpineProbe

    return SpineProbe(correlation_id=f"probe:evlag-{run}-{n}", key=f"evlag-{run}-{n}")


def publish_one(make_event, run: str, n: int) -> None:
    from django.db import transaction

    from flowmart.events.publisher import publish

    with transaction.atomic():
        publish(make_event(run, n))


def publish_steadily(make_event, run: str, *, rate: float, seconds: float, publishers: int) -> tuple[int, float]:
    """``publishers`` threads publish event n at ``start + n / rate``; returns (published, seconds taken)."""
    from django.db import connection

    total = int(rate * seconds)
    start = time.perf_counter() + 0.1
    published = [0] * publishers

    def publisher(index: int) -> None:
        try:
            for n in range(index, total, publishers):
                delay = start + n / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                publish_one(make_event, run, n)
                published[index] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=publisher, args=(i,)) for i in range(publishers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(published), time.perf_counter() - start


# -- figures ----------------------------------------------------------------------------------------------------
def open_deliveries(since) -> int:
    from flowmart.events.models import Delivery, OutboxEvent

    undispatched = OutboxEvent.objects.filter(created_at__gte=since, dispatched_at__isnull=True).count()
    open_ = Delivery.objects.filter(
        event__created_at__gte=since, status__in=[Delivery.Status.PENDING, Delivery.Status.RETRYING]
    ).count()
    return undispatched + open_


def delivery_outcomes(since) -> dict:
    from flowmart.events.models import Delivery

    runs = Delivery.objects.filter(event__created_at__gte=since)
    return {
        "deliveries": runs.count(),
        "dead": runs.filter(status=Delivery.Status.DEAD).count(),
        "retried": runs.filter(attempts__gt=1).count(),
    }


def broker_queue_length() -> int:
    import redis
    from django.conf import settings

    return redis.Redis.from_url(settings.REDIS_URL).llen(settings.CELERY_TASK_DEFAULT_QUEUE)


def wait_until_drained(worker, timeout: float) -> float:
    """Seconds until no event, delivery or command is open and the broker queue is empty (notification sends)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if drained() and broker_queue_length() == 0:
            return time.perf_counter() - started
        if worker.poll() is not None:
            raise SystemExit(f"the Celery worker exited with status {worker.returncode} (start it by hand to see why)")
        time.sleep(0.1)
    raise SystemExit(f"events still open after {timeout:.0f} s (see --drain-timeout)")


# -- the run ----------------------------------------------------------------------------------------------------
def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="events per second, all publishers together")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--handlers", choices=["real", "probe"], default="real")
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--publishers", type=int, default=2, help="publishing threads (one connection each)")
    parser.add_argument("--drain-timeout", type=float, default=600.0)
    return parser.parse_args()


def main(args: argparse.Namespace) -> int:
    from django.core.management import call_command
    from django.utils import timezone

    if args.handlers == "probe":
        call_command("migrate", "--run-syncdb", "--noinput", verbosity=0)  # the test app's table
    make_event = real_event if args.handlers == "real" else probe_event
    run = uuid.uuid4().hex[:8]

    metrics_dir = tempfile.mkdtemp(prefix="flowmart-bench-metrics-")
    worker = start_worker(concurrency=args.worker_concurrency, env=stack_env(metrics_dir))
    try:
        pids = {"worker": worker.pid, "postgres": postmaster_pid() or 0}
        print(
            f"celery --concurrency {args.worker_concurrency} (pid {worker.pid}); {args.handlers} handlers; "
            f"{args.rate:.0f} events/s for {args.seconds:.0f} s from {args.publishers} publishers",
            flush=True,
        )
        for n in range(WARM_UP_EVENTS):  # the worker is up and its processes have imported everything
            publish_one(make_event, f"{run}w", n)
        wait_until_drained(worker, 120)

        counters_before = settled_db_counters()
        OWN_STATEMENTS[0] = 0
        meter = CpuMeter(pids)
        meter.start()
        since = timezone.now()
        # the publishers are this process's threads (what the web tier pays to publish), measured while they publish
        publishers_before = time.process_time()
        published, publishing = publish_steadily(
            make_event, run, rate=args.rate, seconds=args.seconds, publishers=args.publishers
        )
        publishers_cpu = time.process_time() - publishers_before
        backlog = open_deliveries(since)
        drain = wait_until_drained(worker, args.drain_timeout)
        used = meter.stop()
        counters_after = settled_db_counters()
    finally:
        stop([worker])
        shutil.rmtree(metrics_dir, ignore_errors=True)

    lag = lag_figures(since)
    steady = lag_figures(since + timedelta(seconds=publishing / 2))
    outcomes = delivery_outcomes(since)
    per_event = max(published, 1)
    cpu = {name: 1000 * seconds / per_event for name, seconds in {**used, "publishers": publishers_cpu}.items()}
    xacts = counters_after["xacts"] - counters_before["xacts"] - OWN_STATEMENTS[0]

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.0f} ms"

    print(f"\n== {published} events in {publishing:.1f} s: {published / publishing:.1f} events/s achieved")
    print(
        f"  deliveries handled                 {lag['handled']:6d} of {outcomes['deliveries']}"
        f"   ({lag['handled'] / (publishing + drain):.0f}/s; dead letters {outcomes['dead']},"
        f" retried {outcomes['retried']})"
    )
    print(f"  outbox-to-handled lag, all         p50 {ms(lag['p50'])} · p95 {ms(lag['p95'])} · p99 {ms(lag['p99'])}")
    print(
        f"  … last half of the run             p50 {ms(steady['p50'])} · p95 {ms(steady['p95'])} · "
        f"p99 {ms(steady['p99'])}"
    )
    print(f"  backlog when publishing stopped    {backlog:6d}   (undispatched events + open deliveries)")
    print(f"  drained after                      {drain:6.1f} s   (events, deliveries, commands, broker queue)")
    print(
        f"  CPU per event (ms)                 worker {cpu['worker']:.1f} · database {cpu['database']:.1f} · "
        f"publishers {cpu['publishers']:.1f}   (PostgreSQL server in all {cpu['postgres']:.1f})"
    )
    print(
        f"  per event                          "
        f"{(counters_after['sessions'] - counters_before['sessions']) / per_event:.2f} new DB connections · "
        f"{xacts / per_event:.1f} DB transactions (the publishers' included)"
    )
    verdict = "met" if lag["p99"] < 1.0 and published / publishing >= 0.95 * args.rate else "NOT met"
    print(f"  target p99 < 1 s at {args.rate:.0f} events/s: {verdict}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    args = arguments()
    if args.handlers == "probe":  # this process (it publishes) and the worker (it handles) both need the test app
        extra = [app for app in os.environ.get("FLOWMART_EXTRA_APPS", "").split(",") if app]
        os.environ["FLOWMART_EXTRA_APPS"] = ",".join(dict.fromkeys([*extra, PROBE_APP]))
    _django()
    sys.exit(main(args))
