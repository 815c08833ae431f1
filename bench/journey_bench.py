"""Orders *fully processed* per second (events drained), and what one order costs: CPU by process, SQL, connections.

    .venv/bin/python bench/journey_bench.py --orders 200 [--journey api|storefront|both] [--clients 8]
        [--web-workers 2] [--worker-concurrency 2]

Run it with the usual ``DATABASE_URL`` / ``REDIS_URL`` / ``CELERY_QUEUE`` on a machine that is otherwise quiet:
it starts its own gunicorn (``--web-workers``, loopback port) and Celery worker (``--worker-concurrency``,
prefork) on that database, restocks the bench catalog (``checkout_bench.setup_catalog``), and then per journey:

* **SQL per order**, deterministic: one journey run in-process (Django test client) with every statement
  counted, the event handling included (the relay's code, ``deliver_pending``), and the place-order request alone.
* **orders fully processed per second**: ``--clients`` shoppers over HTTP place ``--orders`` orders; the clock
  stops when the outbox is drained (no event undispatched, no delivery or command left to run).
* **CPU per order by process** (psutil, user + system, reaped children included): the gunicorn tree, the Celery
  tree, and PostgreSQL (the postmaster's tree: on a shared server other databases' work counts too).
* **new PostgreSQL connections per order** and transactions per order (``pg_stat_database`` of this database).
* **outbox-to-handled lag** p50/p99 of the run's events (``Delivery.processed_at - OutboxEvent.created_at``)
  and the events per second handled.

Journeys: ``api`` = add to basket, checkout (``POST /api/v1/checkout/``). ``storefront`` = product page, add
to basket, the one-page checkout (GET, then one POST that pays and places the order), confirmation, order page:
6 requests (it was 12 with the four checkout pages; the issue-17 journey measured against django-oscar, whose
checkout still has address, shipping, payment and review pages; peer figures are in docs/performance.md).
Standard library + psutil + Django.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import psutil
from checkout_bench import ADDRESS, BENCH_SKUS, _django, setup_catalog

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


# -- shoppers ---------------------------------------------------------------------------------------------------
class Shopper:
    """One browser: a keep-alive connection and its cookies."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}
        self.requests = 0

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        all_headers = dict(headers or {})
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.requests += 1
        self.conn.request(method, path, body=body, headers=all_headers)
        response = self.conn.getresponse()
        payload = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, response.getheader("Location") or "", payload.decode(errors="replace")

    def form(self, path: str, fields: dict, page: str):
        token = CSRF.search(page)
        data = {**fields, "csrfmiddlewaretoken": token.group(1) if token else ""}
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Referer": f"http://127.0.0.1{path}"}
        return self.request("POST", path, urlencode(data).encode(), headers)

    def api_journey(self, sku: str) -> bool:
        json_headers = {"Content-Type": "application/json", "Accept": "application/json"}
        import json

        status, _, _ = self.request(
            "POST", "/api/v1/basket/lines/", json.dumps({"sku": sku, "quantity": 1}).encode(), json_headers
        )
        if status != 201:
            return False
        body = {
            "shipping_address": ADDRESS,
            "shipping_method": "standard",
            "payment_method": "pm_card_visa",
            "email": f"bench-{uuid.uuid4().hex[:12]}@example.com",
        }
        status, _, _ = self.request(
            "POST",
            "/api/v1/checkout/",
            json.dumps(body).encode(),
            {**json_headers, "Idempotency-Key": str(uuid.uuid4())},
        )
        return status == 201

    def storefront_journey(self, sku: str) -> bool:
        """A guest without JavaScript: product page, add to basket, the checkout page, one POST to pay and place
        (with the total the page showed), confirmation, order page."""
        _, _, page = self.request("GET", f"/products/{sku.lower()}/")
        status, _, _ = self.form("/basket/add/", {"sku": sku, "quantity": 1}, page)
        if status != 302:
            return False
        _, _, page = self.request("GET", "/checkout/")
        status, location, _ = self.form("/checkout/", storefront_checkout_fields(page), page)
        if status != 302 or "/confirmation/" not in location:
            return False
        self.request("GET", location)
        self.request("GET", location.replace("confirmation/", ""))
        return True


def storefront_checkout_fields(page: str) -> dict:
    """What a shopper sends from the checkout page: address, email, standard delivery, the card's token and the
    total the page showed (``expected_total_minor``)."""
    total = re.search(r'name="expected_total_minor" value="(\d+)"', page)
    return {
        **ADDRESS,
        "email": f"bench-{uuid.uuid4().hex[:12]}@example.com",
        "shipping_method": "standard",
        "payment_method": "pm_card_visa",
        "expected_total_minor": total.group(1) if total else "",
        "intent": "place",
    }


# -- processes --------------------------------------------------------------------------------------------------
def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its descendants, live and reaped."""
    try:
        root = psutil.Process(pid)
        total = 0.0
        for p in [root, *root.children(recursive=True)]:
            try:
                t = p.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
            except psutil.Error:
                pass
        return total
    except psutil.Error:
        return 0.0


def postmaster_pid() -> int | None:
    for p in psutil.process_iter(["name", "ppid"]):
        try:
            if p.info["name"] in ("postgres", "postmaster") and psutil.Process(p.info["ppid"]).name() not in (
                "postgres",
                "postmaster",
            ):
                return p.pid
        except psutil.Error:
            continue
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_stack(*, web_workers: int, worker_concurrency: int, metrics_dir: str) -> tuple[subprocess.Popen, ...]:
    port = free_port()
    env = {
        **os.environ,
        "THROTTLE_ANON": "1000000/min",
        "THROTTLE_USER": "1000000/min",
        "THROTTLE_CHECKOUT": "1000000/min",
        "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
    }
    web = subprocess.Popen(
        [str(BIN / "gunicorn"), "flowmart.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(web_workers), "--timeout", "60"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = subprocess.Popen(
        [str(BIN / "celery"), "-A", "flowmart", "worker", "--concurrency", str(worker_concurrency)]
        + ["--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.3)
    else:
        raise SystemExit("gunicorn did not come up")
    return web, worker, port


# -- database figures -------------------------------------------------------------------------------------------
def db_counters() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sessions, xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
        )
        sessions, xacts = cursor.fetchone()
    return {"sessions": sessions, "xacts": xacts}


def settled_db_counters() -> dict:
    """pg_stat_database after the other backends flushed their statistics (idle backends do within ~10 s)."""
    last = db_counters()
    for _ in range(15):
        time.sleep(1)
        now = db_counters()
        if now == last:
            return now
        last = now
    return last


OWN_STATEMENTS = [0]  # the bench's own polling, subtracted from the database's transaction count


def drained() -> bool:
    """Nothing left to do: no event undispatched, no delivery or command open (one statement)."""
    from django.db import connection

    OWN_STATEMENTS[0] += 1
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM events_outboxevent WHERE dispatched_at IS NULL)"
            " OR EXISTS (SELECT 1 FROM events_delivery WHERE status IN ('pending', 'retrying'))"
            " OR EXISTS (SELECT 1 FROM events_command WHERE status IN ('pending', 'retrying'))"
        )
        return not cursor.fetchone()[0]


def lag_figures(since) -> tuple[float, float, int]:
    from django.db.models import F

    from flowmart.events.models import Delivery

    lags = sorted(
        (
            d.total_seconds()
            for d in Delivery.objects.filter(event__created_at__gte=since, processed_at__isnull=False)
            .annotate(lag=F("processed_at") - F("event__created_at"))
            .values_list("lag", flat=True)
        ),
    )
    if not lags:
        return 0.0, 0.0, 0
    return statistics.median(lags), lags[min(len(lags) - 1, int(len(lags) * 0.99))], len(lags)


class StatementCounter:
    """Counts every statement this process sends (``connection.execute_wrapper``; nests, unlike the query log)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def sql_per_order(journey: str) -> tuple[int, int, int]:
    """(statements for the whole order incl. event handling, place-order request alone, event handling alone)."""
    from django.db import connection
    from django.test import Client

    from flowmart.events.testing import deliver_pending

    deliver_pending()
    client = Client()
    sku = BENCH_SKUS[0]
    whole, place, events = StatementCounter(), StatementCounter(), StatementCounter()
    with connection.execute_wrapper(whole):
        if journey == "api":
            client.post("/api/v1/basket/lines/", {"sku": sku, "quantity": 1}, content_type="application/json")
            body = {"shipping_address": ADDRESS, "shipping_method": "standard", "payment_method": "pm_card_visa"}
            body["email"] = "bench-sql@example.com"
            with connection.execute_wrapper(place):
                r = client.post(
                    "/api/v1/checkout/",
                    body,
                    content_type="application/json",
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                )
            assert r.status_code == 201, r.content
        else:
            client.get(f"/products/{sku.lower()}/")
            client.post("/basket/add/", {"sku": sku, "quantity": 1})
            page = client.get("/checkout/").content.decode()
            with connection.execute_wrapper(place):
                r = client.post("/checkout/", storefront_checkout_fields(page))
            assert r.status_code == 302, r.status_code
            client.get(r["Location"])
            client.get(r["Location"].replace("confirmation/", ""))
        with connection.execute_wrapper(events):
            deliver_pending()
    return whole.count, place.count, events.count


# -- the run ----------------------------------------------------------------------------------------------------
def run_journey(journey: str, *, orders: int, clients: int, port: int, pids: dict, sql: tuple) -> dict:
    from django.utils import timezone

    total_sql, place_sql, event_sql = sql
    counters_before = settled_db_counters()
    OWN_STATEMENTS[0] = 0
    cpu_before = {name: tree_cpu(pid) for name, pid in pids.items()}
    since = timezone.now()
    started = time.perf_counter()
    counter = iter(range(orders))
    lock = threading.Lock()
    failures = [0]

    requests = [0]

    def shopper(index: int) -> None:
        s = Shopper(port)
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            ok = getattr(s, f"{journey}_journey")(BENCH_SKUS[n % len(BENCH_SKUS)])
            if not ok:
                with lock:
                    failures[0] += 1
            if journey == "storefront":
                with lock:
                    requests[0] += s.requests
                s = Shopper(port)  # a new browser per order: an empty basket and session
        with lock:
            requests[0] += s.requests

    threads = [threading.Thread(target=shopper, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted = time.perf_counter() - started
    while not drained():
        time.sleep(0.05)
    processed = time.perf_counter() - started
    cpu_after = {name: tree_cpu(pid) for name, pid in pids.items()}
    counters_after = settled_db_counters()
    p50, p99, handled = lag_figures(since)
    done = orders - failures[0]
    return {
        "journey": journey,
        "orders": done,
        "failures": failures[0],
        "accepted_per_s": done / accepted,
        "processed_per_s": done / processed,
        "cpu_ms": {name: 1000 * (cpu_after[name] - cpu_before[name]) / max(done, 1) for name in pids},
        "requests_per_order": requests[0] / max(orders, 1),
        "sql_per_order": total_sql,
        "place_sql": place_sql,
        "event_sql": event_sql,
        "connections_per_order": (counters_after["sessions"] - counters_before["sessions"]) / max(done, 1),
        # minus the bench's own polling (one statement per poll)
        "xacts_per_order": (counters_after["xacts"] - counters_before["xacts"] - OWN_STATEMENTS[0]) / max(done, 1),
        "lag_p50": p50,
        "lag_p99": p99,
        "events_per_s": handled / processed,
    }


def report(r: dict) -> None:
    cpu = r["cpu_ms"]
    machine = sum(cpu.values())
    print(f"\n== {r['journey']} journey: {r['orders']} orders ({r['failures']} failed)")
    print(f"  orders accepted per second          {r['accepted_per_s']:8.1f}")
    print(f"  orders fully processed per second   {r['processed_per_s']:8.1f}   (events drained)")
    print(
        f"  CPU per order (ms)                  web {cpu['web']:.1f} · worker {cpu['worker']:.1f} · "
        f"postgres {cpu['postgres']:.1f} · machine {machine:.1f}"
    )
    print(f"  HTTP requests per order             {r['requests_per_order']:8.1f}")
    print(
        f"  SQL per order                       {r['sql_per_order']:8d}   "
        f"(place-order request {r['place_sql']}, event handling {r['event_sql']})"
    )
    print(f"  new DB connections per order        {r['connections_per_order']:8.2f}")
    print(f"  DB transactions per order           {r['xacts_per_order']:8.1f}")
    print(
        f"  outbox-to-handled lag               p50 {r['lag_p50'] * 1000:.0f} ms · p99 {r['lag_p99'] * 1000:.0f} ms "
        f"at {r['events_per_s']:.0f} handled deliveries/s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--journey", choices=["api", "storefront", "both"], default="both")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    args = parser.parse_args()

    os.environ.setdefault("THROTTLE_ANON", "1000000/min")
    setup_catalog()  # sets Django up too
    journeys = ["api", "storefront"] if args.journey == "both" else [args.journey]
    sql = {journey: sql_per_order(journey) for journey in journeys}  # before the worker runs: events handled here
    metrics_dir = tempfile.mkdtemp(prefix="flowmart-bench-metrics-")
    web, worker, port = start_stack(
        web_workers=args.web_workers, worker_concurrency=args.worker_concurrency, metrics_dir=metrics_dir
    )
    pids = {"web": web.pid, "worker": worker.pid, "postgres": postmaster_pid() or 0}
    print(
        f"gunicorn -w {args.web_workers} (pid {web.pid}), celery --concurrency {args.worker_concurrency}, {args.clients} clients"
    )
    try:
        for journey in journeys:
            report(
                run_journey(journey, orders=args.orders, clients=args.clients, port=port, pids=pids, sql=sql[journey])
            )
    finally:
        for process in (web, worker):
            process.send_signal(signal.SIGTERM)
        for process in (web, worker):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    _django()
    sys.exit(main())
