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
  tree, and the PostgreSQL backends of this database (``CpuMeter``; machine = the three); the whole PostgreSQL
  server (the postmaster's tree, other databases' work included) is printed beside it.
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
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import psutil
from checkout_bench import ADDRESS, BENCH_SKUS, _django, percentile, setup_catalog
from statement_counter import StatementCounter

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
        self.last_response: http.client.HTTPResponse | None = None

    def forget(self) -> None:
        """A new browser: no cookies, so an empty basket and session (gunicorn's sync workers close every
        connection anyway)."""
        self.cookies.clear()

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        all_headers = dict(headers or {})
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.requests += 1
        self.conn.request(method, path, body=body, headers=all_headers)
        response = self.conn.getresponse()
        payload = response.read()
        self.last_response = response
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
    """The PostgreSQL server this process's Django connection talks to: the parent of its backend."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        return psutil.Process(backend).ppid()
    except psutil.Error:
        print("(PostgreSQL runs elsewhere (another machine or a container): its CPU is not measured)")
        return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stack_env(metrics_dir: str) -> dict:
    """FlowMart's processes' environment: rate limits out of the way, quiet logs, metrics shared across processes."""
    return {
        **os.environ,
        "THROTTLE_ANON": "1000000/min",
        "THROTTLE_USER": "1000000/min",
        "THROTTLE_CHECKOUT": "1000000/min",
        "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
    }


def start_gunicorn(
    gunicorn: Path, app: str, *, workers: int, cwd: Path, env: dict, health_path: str
) -> tuple[subprocess.Popen, int]:
    """gunicorn (sync workers) on a free loopback port, once ``health_path`` answers 200."""
    port = free_port()
    web = subprocess.Popen(
        [str(gunicorn), app, "-b", f"127.0.0.1:{port}", "-w", str(workers), "--timeout", "60"],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise SystemExit(f"gunicorn {app} exited with status {web.returncode} (run it by hand to see why)")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", health_path)
            if conn.getresponse().status == 200:
                return web, port
        except OSError:
            pass
        time.sleep(0.3)
    web.kill()
    raise SystemExit(f"gunicorn {app} did not answer {health_path} within 90 s")


def start_worker(*, concurrency: int, env: dict) -> subprocess.Popen:
    """The Celery worker (prefork) on this deployment's queue."""
    return subprocess.Popen(
        [str(BIN / "celery"), "-A", "flowmart", "worker", "--concurrency", str(concurrency)]
        + ["--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_stack(*, web_workers: int, worker_concurrency: int, metrics_dir: str) -> tuple[subprocess.Popen, ...]:
    env = stack_env(metrics_dir)
    worker = start_worker(concurrency=worker_concurrency, env=env)
    try:
        web, port = start_gunicorn(
            BIN / "gunicorn", "flowmart.wsgi", workers=web_workers, cwd=ROOT, env=env, health_path="/healthz"
        )
    except BaseException:
        stop([worker])
        raise
    return web, worker, port


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


# -- database figures -------------------------------------------------------------------------------------------
def db_counters(database: str | None = None) -> dict:
    """Sessions (connections) opened and transactions ended in ``database`` (default: this connection's)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sessions, xact_commit + xact_rollback FROM pg_stat_database"
            " WHERE datname = coalesce(%s, current_database())",
            [database],
        )
        sessions, xacts = cursor.fetchone()
    return {"sessions": sessions, "xacts": xacts}


def settled_db_counters(database: str | None = None) -> dict:
    """pg_stat_database after the other backends flushed their statistics (idle backends do within ~10 s)."""
    last = db_counters(database)
    for _ in range(15):
        time.sleep(1)
        now = db_counters(database)
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


def lag_figures(since) -> dict:
    """Outbox-to-handled lag (``Delivery.processed_at - OutboxEvent.created_at``, seconds) of the deliveries of
    events published since ``since``: p50, p95, p99 and how many were handled."""
    from django.db.models import F

    from flowmart.events.models import Delivery

    lags = [
        d.total_seconds()
        for d in Delivery.objects.filter(event__created_at__gte=since, processed_at__isnull=False)
        .annotate(lag=F("processed_at") - F("event__created_at"))
        .values_list("lag", flat=True)
    ]
    return {"p50": percentile(lags, 50), "p95": percentile(lags, 95), "p99": percentile(lags, 99), "handled": len(lags)}


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
def drive(shoppers: list, place_order, orders: int) -> tuple[int, float]:
    """Each shopper (a thread) calls ``place_order(shopper, n)`` for the next n until ``orders`` were tried;
    returns (failures, seconds)."""
    counter = iter(range(orders))
    lock = threading.Lock()
    failures = [0]

    def shop(shopper) -> None:
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            try:
                ok = place_order(shopper, n)
            except Exception as exc:  # a dropped connection, a page without the expected form: a failed order
                ok = False
                if not failures[0]:
                    print(f"(first failed order: {exc!r})", file=sys.stderr)
            if not ok:
                with lock:
                    failures[0] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=shop, args=(s,)) for s in shoppers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures[0], time.perf_counter() - started


def database_backends_cpu(database: str | None, *, exclude: int | None = None) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to ``database`` (default: this connection's)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = coalesce(%s, current_database())", [database])
        return {pid: tree_cpu(pid) for (pid,) in cursor.fetchall() if pid != exclude}


class CpuMeter:
    """CPU seconds used between ``start()`` and ``stop()``: by each named process tree (``pids``: gunicorn, the
    worker, the postmaster as ``postgres`` for the whole server), and as ``database`` by the backends of
    ``database`` (the bench's own; on a shared server the other databases' work is not in it). Backends come and
    go (``CONN_MAX_AGE`` recycles them), so a thread samples them twice a second: one that exits loses at most
    its last half second."""

    SAMPLE_SECONDS = 0.5

    def __init__(self, pids: dict[str, int], database: str | None = None) -> None:
        self.pids, self.database = pids, database
        self._done = threading.Event()

    def _trees(self) -> dict[str, float]:
        return {name: tree_cpu(pid) if pid else 0.0 for name, pid in self.pids.items()}

    def _sample_backends(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            own = cursor.fetchone()[0]  # the sampler's own backend is not the shop's work
        try:
            first = True
            while True:
                stopping = self._done.is_set()  # one last sample after stop() was called
                for pid, cpu in database_backends_cpu(self.database, exclude=own).items():
                    self.backends_first.setdefault(pid, cpu if first else 0.0)
                    self.backends_last[pid] = cpu
                if first:
                    self._started.set()
                    first = False
                if stopping:
                    return
                self._done.wait(self.SAMPLE_SECONDS)
        finally:
            connection.close()

    def start(self) -> None:
        self.backends_first: dict[int, float] = {}
        self.backends_last: dict[int, float] = {}
        self._started = threading.Event()
        self._sampler = threading.Thread(target=self._sample_backends, daemon=True)
        self._sampler.start()
        self._started.wait(30)
        self.trees = self._trees()

    def stop(self) -> dict[str, float]:
        trees = self._trees()
        self._done.set()
        self._sampler.join()
        used = {name: trees[name] - self.trees[name] for name in trees}
        used["database"] = sum(cpu - self.backends_first[pid] for pid, cpu in self.backends_last.items())
        return used


def run_journey(journey: str, *, orders: int, clients: int, port: int, pids: dict, sql: tuple) -> dict:
    from django.utils import timezone

    total_sql, place_sql, event_sql = sql
    counters_before = settled_db_counters()
    OWN_STATEMENTS[0] = 0
    meter = CpuMeter(pids)
    meter.start()
    since = timezone.now()
    started = time.perf_counter()

    def place_order(shopper: Shopper, n: int) -> bool:
        ok = getattr(shopper, f"{journey}_journey")(BENCH_SKUS[n % len(BENCH_SKUS)])
        if journey == "storefront":
            shopper.forget()  # a new browser per order: an empty basket and session
        return ok

    shoppers = [Shopper(port) for _ in range(clients)]
    failures, accepted = drive(shoppers, place_order, orders)
    while not drained():
        time.sleep(0.05)
    processed = time.perf_counter() - started
    cpu = meter.stop()
    counters_after = settled_db_counters()
    lag = lag_figures(since)
    done = orders - failures
    return {
        "journey": journey,
        "orders": done,
        "failures": failures,
        "accepted_per_s": done / accepted,
        "processed_per_s": done / processed,
        "cpu_ms": {name: 1000 * seconds / max(done, 1) for name, seconds in cpu.items()},
        "requests_per_order": sum(s.requests for s in shoppers) / max(orders, 1),
        "sql_per_order": total_sql,
        "place_sql": place_sql,
        "event_sql": event_sql,
        "connections_per_order": (counters_after["sessions"] - counters_before["sessions"]) / max(done, 1),
        # minus the bench's own polling (one statement per poll)
        "xacts_per_order": (counters_after["xacts"] - counters_before["xacts"] - OWN_STATEMENTS[0]) / max(done, 1),
        "lag": lag,
        "events_per_s": lag["handled"] / processed,
    }


def machine_cpu(cpu_ms: dict) -> float:
    """Web + worker + the bench database's backends (the server's other work is not the order's)."""
    return cpu_ms["web"] + cpu_ms["worker"] + cpu_ms["database"]


def report(r: dict) -> None:
    cpu = r["cpu_ms"]
    machine = machine_cpu(cpu)
    print(f"\n== {r['journey']} journey: {r['orders']} orders ({r['failures']} failed)")
    print(f"  orders accepted per second          {r['accepted_per_s']:8.1f}")
    print(f"  orders fully processed per second   {r['processed_per_s']:8.1f}   (events drained)")
    print(
        f"  CPU per order (ms)                  web {cpu['web']:.1f} · worker {cpu['worker']:.1f} · "
        f"database {cpu['database']:.1f} · machine {machine:.1f}   (PostgreSQL server in all {cpu['postgres']:.1f})"
    )
    print(f"  HTTP requests per order             {r['requests_per_order']:8.1f}")
    print(
        f"  SQL per order                       {r['sql_per_order']:8d}   "
        f"(place-order request {r['place_sql']}, event handling {r['event_sql']})"
    )
    print(f"  new DB connections per order        {r['connections_per_order']:8.2f}")
    print(f"  DB transactions per order           {r['xacts_per_order']:8.1f}")
    lag = r["lag"]
    print(
        f"  outbox-to-handled lag               p50 {lag['p50'] * 1000:.0f} ms · p99 {lag['p99'] * 1000:.0f} ms "
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
        stop([web, worker])
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    _django()
    sys.exit(main())
