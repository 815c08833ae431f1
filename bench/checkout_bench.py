"""Drive complete checkouts over HTTP against a running FlowMart; report orders/s, latency and SQL per checkout.

    .venv/bin/python bench/checkout_bench.py [URL] [--clients 8] [--checkouts 200] [--setup] [--hot]

Each client is a guest with its own session cookie: add one unit of a bench SKU to the basket
(``POST /api/v1/basket/lines/``), then ``POST /api/v1/checkout/`` with an ``Idempotency-Key``.
The checkout latency (the saga: reserve, authorize, confirm) is what p50/p99 report.

* ``--setup`` creates the bench catalog in the database the server uses (run it with the same
  ``DATABASE_URL``): SKUs ``BENCH-1`` … ``BENCH-20`` with plenty of stock, ``BENCH-HOT`` with 10
  units, and the demo shipping rates. Re-running it restocks.
* SQL queries per checkout are measured in-process (Django's query log around one checkout through
  the test client against the same database), since a remote server cannot be asked.
* ``--hot``: 100 clients race for the 10 units of ``BENCH-HOT``; exactly 10 orders must be confirmed
  (exit status 1 otherwise).

Start the server with the rate limits raised, e.g.
``THROTTLE_ANON=1000000/min THROTTLE_CHECKOUT=1000000/min .venv/bin/gunicorn flowmart.wsgi -w 4 --threads 4``
(or ``manage.py runserver``). Figures from our runs are in docs/orders.md.
URL must be a loopback address: this is a local benchmark. Standard library only (plus Django for
``--setup`` and the query count).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from loopback import loopback_only  # bench/ is sys.path[0] when a benchmark runs as a script

BENCH_SKUS = [f"BENCH-{i}" for i in range(1, 21)]
HOT_SKU = "BENCH-HOT"
HOT_UNITS = 10
HOT_CLIENTS = 100
MAX_CLIENTS = 200
MAX_CHECKOUTS = 100_000
RETRIES = 5
ADDRESS = {
    "name": "Bench Buyer",
    "line1": "1 Loopback Lane",
    "city": "Localhost",
    "postal_code": "12345",
    "country": "US",
}


class Guest:
    """One shopper: an HTTP connection and a session cookie."""

    def __init__(self, host: str, port: int) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=60)
        self.cookies: dict[str, str] = {}

    def post(self, path: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
        """POST, retrying a refused/reset connection (safe: checkouts carry an Idempotency-Key)."""
        for attempt in range(RETRIES):
            try:
                return self._post(path, body, headers)
            except OSError:
                self.conn.close()
                if attempt == RETRIES - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def _post(self, path: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode()
        all_headers = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request("POST", path, body=data, headers=all_headers)
        response = self.conn.getresponse()
        payload = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        try:
            return response.status, json.loads(payload or b"{}")
        except ValueError:
            return response.status, {}

    def checkout(self, sku: str) -> tuple[int, float, dict]:
        status, body = self.post("/api/v1/basket/lines/", {"sku": sku, "quantity": 1})
        if status != 201:
            return status, 0.0, body
        started = time.perf_counter()
        status, body = self.post(
            "/api/v1/checkout/",
            {
                "shipping_address": ADDRESS,
                "shipping_method": "standard",
                "payment_method": "pm_card_visa",
                "email": f"bench-{uuid.uuid4().hex[:12]}@example.com",
            },
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        return status, time.perf_counter() - started, body

    def close(self) -> None:
        self.conn.close()


def _django():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowmart.settings")
    for scope in ("THROTTLE_ANON", "THROTTLE_USER", "THROTTLE_CHECKOUT"):
        os.environ.setdefault(scope, "1000000/min")  # the in-process measurement is not a client
    import django

    django.setup()


def setup_catalog() -> None:
    _django()
    from inventory.models import Category, Product, Stock, Variant, Warehouse
    from inventory.selectors import available_quantity
    from inventory.services import stock_receive
    from shipping.demo import seed_demo_shipping

    seed_demo_shipping()
    warehouse, _ = Warehouse.objects.get_or_create(code="bench", defaults={"name": "Bench", "priority": 1})
    category, _ = Category.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    for sku in [*BENCH_SKUS, HOT_SKU]:
        product, _ = Product.objects.get_or_create(
            slug=sku.lower(), defaults={"name": f"Bench item {sku}", "category": category}
        )
        variant, _ = Variant.objects.get_or_create(
            sku=sku, defaults={"product": product, "name": "Default", "price_minor": 1500, "currency": "USD"}
        )
        Stock.objects.get_or_create(variant=variant, warehouse=warehouse)
        target = HOT_UNITS if sku == HOT_SKU else 1_000_000
        missing = target - available_quantity(sku=sku)
        if missing > 0:
            stock_receive(
                sku=sku, warehouse_code="bench", quantity=missing, reference=f"bench-setup-{uuid.uuid4().hex[:8]}"
            )
    print(f"bench catalog ready: {len(BENCH_SKUS)} SKUs with plenty of stock, {HOT_SKU} with {HOT_UNITS} units")


def queries_per_checkout() -> int | None:
    """Run one checkout in-process and count its SQL statements (basket add excluded)."""
    try:
        _django()
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext
    except Exception as exc:  # no database settings here: skip the figure
        print(f"(queries per checkout not measured: {exc})")
        return None
    client = Client()
    client.post("/api/v1/basket/lines/", {"sku": BENCH_SKUS[0], "quantity": 1}, content_type="application/json")
    body = {"shipping_address": ADDRESS, "shipping_method": "standard", "payment_method": "pm_card_visa"}
    body["email"] = "bench-queries@example.com"
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            "/api/v1/checkout/", body, content_type="application/json", headers={"Idempotency-Key": str(uuid.uuid4())}
        )
    if response.status_code != 201:
        print(f"(queries per checkout not measured: checkout answered {response.status_code})")
        return None
    return len(queries)


def run(host: str, port: int, *, clients: int, checkouts: int, sku_for) -> tuple[list[float], Counter, float]:
    latencies: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    counter = iter(range(checkouts))
    start_gate = threading.Barrier(clients)

    def worker(index: int) -> None:
        start_gate.wait()
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            guest = Guest(host, port)
            try:
                status, seconds, _ = guest.checkout(sku_for(n))
            except OSError:
                status, seconds = 0, 0.0
            finally:
                guest.close()
            with lock:
                statuses[status] += 1
                if status == 201:
                    latencies.append(seconds)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, statuses, time.perf_counter() - began


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--checkouts", type=int, default=200)
    parser.add_argument("--setup", action="store_true", help="create/restock the bench catalog first")
    parser.add_argument("--hot", action="store_true", help="also run the hot-product race (100 clients, 10 units)")
    parser.add_argument("--no-queries", action="store_true", help="skip the in-process SQL count")
    args = parser.parse_args()

    parts = urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loopback_only(host)
    clients = max(1, min(args.clients, MAX_CLIENTS))
    checkouts = max(clients, min(args.checkouts, MAX_CHECKOUTS))

    if args.setup:
        setup_catalog()

    latencies, statuses, elapsed = run(
        host, port, clients=clients, checkouts=checkouts, sku_for=lambda n: BENCH_SKUS[n % len(BENCH_SKUS)]
    )
    ok = statuses.get(201, 0)
    print(f"checkouts: {checkouts} with {clients} concurrent clients in {elapsed:.2f}s")
    others = {k: v for k, v in statuses.items() if k != 201}
    print(f"  confirmed orders: {ok}   other answers: {others}")
    if statuses.get(429):
        print("  (429: raise THROTTLE_ANON / THROTTLE_CHECKOUT on the server)")
    print(f"  orders/s: {ok / elapsed:.1f}")
    if latencies:
        print(
            f"  checkout latency: p50 {percentile(latencies, 50) * 1000:.0f} ms, "
            f"p99 {percentile(latencies, 99) * 1000:.0f} ms, mean {statistics.mean(latencies) * 1000:.0f} ms"
        )
    if not args.no_queries:
        count = queries_per_checkout()
        if count is not None:
            print(f"  SQL queries per checkout: {count}")

    if args.hot:
        if args.setup:
            setup_catalog()  # back to exactly 10 units
        _, hot, hot_elapsed = run(host, port, clients=HOT_CLIENTS, checkouts=HOT_CLIENTS, sku_for=lambda n: HOT_SKU)
        won = hot.get(201, 0)
        print(f"hot product: {HOT_CLIENTS} clients raced for {HOT_UNITS} units of {HOT_SKU} in {hot_elapsed:.2f}s")
        refused = {k: v for k, v in hot.items() if k != 201}
        print(f"  confirmed: {won}   refused: {refused}")
        if won != HOT_UNITS:
            print(f"  FAIL: expected exactly {HOT_UNITS} confirmed orders (was the stock reset with --setup?)")
            return 1
        print(f"  OK: exactly {HOT_UNITS} orders confirmed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
