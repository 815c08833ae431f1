"""Reports benchmark: seed N orders (100,000 by default) with their lines, transitions, shipments, delivery
failures, returns and feedback, then time every figure of the owner's report and the streamed orders export.

    .venv/bin/python bench/reports_bench.py                   # 100,000 orders over the last 365 days
    .venv/bin/python bench/reports_bench.py --orders 20000 --keep
    .venv/bin/python bench/reports_bench.py --keep --save after.json --before before.json

``--keep`` reuses the scratch database seeded by an earlier run (migrating it, so a branch's new indexes
apply). ``--save`` writes each figure's median; ``--before`` prints a saved run's medians next to this one's,
e.g. the same bench run on the commit before a change, in its own database (another ``DATABASE_URL``).
``--cpu`` adds the CPU the database backend spent per figure: on a machine shared with other work the wall
clock varies several times over from run to run, the CPU much less.

Seeding is one ``INSERT … SELECT generate_series(…)`` per table, inside PostgreSQL (no Python per row), so
100,000 orders take seconds. Columns the bench does not care about get a neutral value by type (read from the
catalog), so the seeding follows the models as they change.

It runs in a scratch database (``<your database>_reports_bench``, dropped and re-created, migrated) so it never
touches real data. Needs ``DATABASE_URL`` pointing at a PostgreSQL server where it may create databases.
Figures: docs/performance.md §Reports.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def scratch_database_url(base_url: str) -> tuple[str, str, str]:
    parts = urlsplit(base_url)
    database = f"{parts.path.lstrip('/') or 'flowmart'}_reports_bench"
    return urlunsplit(parts._replace(path=f"/{database}")), urlunsplit(parts._replace(path="/postgres")), database


def recreate_database(maintenance_url: str, database: str) -> None:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowmart.settings")
    os.environ["DEBUG"] = "false"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("FLOWMART_ENV", "development")
    import django

    django.setup()


_NEUTRAL = {
    "text": "''",
    "character varying": "''",
    "integer": "0",
    "bigint": "0",
    "smallint": "0",
    "boolean": "false",
    "jsonb": "'{}'::jsonb",
    "uuid": "gen_random_uuid()",
    "timestamp with time zone": "now()",
    "date": "current_date",
    "ARRAY": "'{}'",
    "double precision": "0",
    "numeric": "0",
}


def insert_select(cursor, table: str, values: dict[str, str], source: str) -> None:
    """``INSERT INTO table (…) SELECT … FROM source``: ``values`` are SQL expressions per column; every other
    NOT NULL column without a default gets a neutral value of its type."""
    cursor.execute(
        "SELECT column_name, data_type, is_nullable, column_default, is_generated FROM information_schema.columns "
        "WHERE table_name = %s AND table_schema = 'public'",
        [table],
    )
    columns = dict(values)
    for name, data_type, nullable, default, generated in cursor.fetchall():
        if name in columns or name == "id" or nullable == "YES" or default is not None or generated == "ALWAYS":
            continue
        columns[name] = _NEUTRAL[data_type]
    names = ", ".join(f'"{c}"' for c in columns)
    cursor.execute(f"INSERT INTO {table} ({names}) SELECT {', '.join(columns.values())} FROM {source}")  # noqa: S608


def seed(n: int) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as c:
        c.execute("INSERT INTO inventory_category (name, slug, description, position) VALUES "
                  "('Apparel', 'apparel', '', 0), ('Kitchen', 'kitchen', '', 1), ('Garden', 'garden', '', 2), ('Books', 'books', '', 3)")  # fmt: skip
        insert_select(c, "inventory_product", {
            "name": "'Product ' || g", "slug": "'product-' || g", "description": "''",
            "category_id": "(SELECT id FROM inventory_category ORDER BY id OFFSET (g % 4) LIMIT 1)",
            "attributes": "'{}'::jsonb", "is_active": "true", "created_at": "now()", "updated_at": "now()",
        }, "generate_series(1, 20) g")  # fmt: skip
        insert_select(c, "inventory_variant", {
            "product_id": "(SELECT id FROM inventory_product WHERE slug = 'product-' || g)", "sku": "'SKU-' || g",
            "name": "''", "options": "'{}'::jsonb", "price_minor": "500 + g * 250", "currency": "'USD'",
        }, "generate_series(1, 20) g")  # fmt: skip
        # Orders over the last 365 days; 94 % sold, 4 % cancelled, 2 % never confirmed; 6 % partly refunded.
        insert_select(c, "orders_order", {
            "number": "'FM-B' || lpad(g::text, 8, '0')", "email": "'bench' || (g % 5000) || '@example.com'",
            "status": "CASE WHEN g % 50 = 0 THEN 'cancelled' WHEN g % 50 = 1 THEN 'payment_failed' WHEN g % 50 = 2 THEN 'fulfilling' ELSE 'completed' END",
            "currency": "'USD'", "subtotal_minor": "3000 + (g % 7) * 500", "shipping_minor": "500",
            "total_minor": "3500 + (g % 7) * 500", "captured_minor": "CASE WHEN g % 16 = 3 THEN 3500 + (g % 7) * 500 ELSE 0 END",
            "refunded_minor": "CASE WHEN g % 16 = 3 THEN 1000 ELSE 0 END", "shipping_method": "'standard'",
            "saga_status": "'completed'", "placed_at": "now() - (g % 365) * interval '1 day' - (g % 24) * interval '1 hour'",
            "confirmed_at": "CASE WHEN g % 50 = 1 THEN NULL ELSE now() - (g % 365) * interval '1 day' - (g % 24) * interval '1 hour' + interval '1 minute' END",
            # The first label is bought between placing and dispatch (``Order.labelled_at``, read by processing times).
            "labelled_at": "CASE WHEN g % 50 > 1 THEN now() - (g % 365) * interval '1 day' - (g % 24) * interval '1 hour' + (g % 24 + g % 30) * interval '30 minutes' END",
            "shipped_at": "CASE WHEN g % 50 > 2 THEN now() - (g % 365) * interval '1 day' + (g % 30) * interval '1 hour' END",
            "delivered_at": "CASE WHEN g % 50 > 2 THEN now() - (g % 365) * interval '1 day' + (40 + g % 50) * interval '1 hour' END",
            "shipping_address": """'{"country": "US"}'::jsonb""",
            # A hundred or so each on the staff's attention list: open chargebacks, settlements that failed.
            "disputed": "g % 997 = 0", "failure_code": "CASE WHEN g % 1009 = 5 THEN 'settle_failed' ELSE '' END",
        }, f"generate_series(1, {n}) g")  # fmt: skip
        for line in (1, 2):
            insert_select(c, "orders_orderline", {
                "order_id": "o.id", "sku": f"'SKU-' || (1 + (o.id + {line * 7}) % 20)", "name": "'Item'",
                "quantity": f"{line}", "unit_price_minor": "1500", "line_total_minor": f"{line} * 1500",
                "allocations": "'[]'::jsonb",
            }, "orders_order o")  # fmt: skip
        insert_select(c, "orders_ordertransition", {
            "order_id": "o.id", "transition": "'start_fulfilment'", "from_state": "'confirmed'",
            "to_state": "'fulfilling'", "at": "o.labelled_at",
        }, "orders_order o WHERE o.labelled_at IS NOT NULL")  # fmt: skip
        insert_select(c, "shipping_shipment", {
            "number": "'SH-B' || o.id", "order_number": "o.number", "kind": "'order'", "warehouse_code": "'east'",
            "method_code": "'standard'", "address": "'{}'::jsonb",
            "status": "CASE WHEN o.id % 20 = 0 THEN 'returned_to_sender' WHEN o.id % 97 = 0 THEN 'in_transit' ELSE 'delivered' END",
            "dispatched_at": "o.shipped_at", "delivered_at": "o.delivered_at",
            "failed_attempts": "CASE WHEN o.id % 20 = 0 THEN 2 WHEN o.id % 11 = 0 THEN 1 ELSE 0 END",
        }, "orders_order o WHERE o.shipped_at IS NOT NULL")  # fmt: skip
        insert_select(c, "shipping_deliveryfailure", {
            "shipment_id": "s.id", "attempt": "1", "failed_at": "s.dispatched_at + interval '20 hours'",
            "reason": "(ARRAY['Nobody home', 'Address not found', 'Refused', 'Access code needed'])[1 + s.id % 4]",
            "recorded_at": "now()",
        }, "shipping_shipment s WHERE s.failed_attempts > 0")  # fmt: skip
        insert_select(c, "shipping_returnrequest", {
            "rma_number": "'RMA-B' || o.id", "order_number": "o.number", "warehouse_code": "'east'", "reason": "'too small'",
            "status": "(ARRAY['requested', 'approved', 'received', 'refunded', 'rejected'])[1 + o.id % 5]",
            "created_at": "o.delivered_at + interval '2 days'", "currency": "'USD'",
        }, "orders_order o WHERE o.id % 25 = 0 AND o.delivered_at IS NOT NULL")  # fmt: skip
        insert_select(c, "notifications_feedback", {
            "order_number": "o.number", "email": "o.email", "due_at": "o.delivered_at",
            "rating": "1 + (o.id * 7) % 5", "comment": "CASE WHEN o.id % 9 = 0 THEN 'Comment ' || o.id ELSE '' END",
            "submitted_at": "o.delivered_at + interval '1 day'", "created_at": "now()",
        }, "orders_order o WHERE o.id % 3 = 0 AND o.delivered_at IS NOT NULL")  # fmt: skip
    with connection.cursor() as c:
        # What autovacuum would have done to tables this size by the time anyone reads a report: statistics,
        # and the visibility map index-only scans rely on.
        c.execute("VACUUM ANALYZE")


def backend_cpu_reader():
    """A function returning the CPU milliseconds (user + system) this connection's PostgreSQL backend has used,
    read from /proc; None when the server runs on another machine. Unlike the wall clock, it hardly moves when
    other work shares the machine (``--cpu``)."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SELECT pg_backend_pid()")
        stat = Path(f"/proc/{c.fetchone()[0]}/stat")
    if not stat.exists():
        return None
    tick = os.sysconf("SC_CLK_TCK")

    def used_ms() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()  # after the command name: state is fields[0]
        return (int(fields[11]) + int(fields[12])) * 1000 / tick

    return used_ms


def timed(label: str, fn, runs: int, before: dict, backend_cpu) -> tuple[float, float | None]:
    """Median wall-clock milliseconds of ``fn`` and, with ``backend_cpu``, the backend's mean CPU
    milliseconds per run (a mean: the clock ticks in 10 ms)."""
    fn()  # warm the caches and the plan
    times, cpu = [], 0.0
    for _ in range(runs):
        cpu_started = backend_cpu() if backend_cpu else 0.0
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
        cpu += (backend_cpu() - cpu_started) if backend_cpu else 0.0
    median = statistics.median(times)
    line = f"  {label:<44} median {median:7.1f} ms (min {min(times):6.1f}, max {max(times):6.1f})"
    if backend_cpu:
        line += f"  database CPU {cpu / runs:6.1f} ms"
    if label in before.get("ms", {}):
        line += f"   before {before['ms'][label]:7.1f} ms"
        if backend_cpu and label in before.get("cpu_ms", {}):
            line += f", database CPU {before['cpu_ms'][label]:6.1f} ms"
    print(line)
    return median, (cpu / runs if backend_cpu else None)


def figures(date_range) -> list[tuple[str, object]]:
    """(label, call) for every query of the owner's report over ``date_range``, then the whole report."""
    from notifications import selectors as notification_selectors
    from orders import selectors as order_selectors
    from reports.selectors import ATTENTION_LIMIT, owner_report
    from shipping import selectors as shipping_selectors

    r = date_range

    def attention():
        orders = order_selectors.orders_needing_attention()
        return orders.count(), list(orders.values("number").order_by("placed_at")[:ATTENTION_LIMIT])

    return [
        ("sales per day", lambda: order_selectors.sales_by_period(date_range=r, period="day")),
        ("sales per month", lambda: order_selectors.sales_by_period(date_range=r, period="month")),
        ("sales by category", lambda: order_selectors.sales_by_category(date_range=r)),
        ("processing time p50/p90", lambda: order_selectors.processing_times(date_range=r)),
        ("delivery rates", lambda: shipping_selectors.delivery_rates(date_range=r)),
        ("failed deliveries by reason", lambda: shipping_selectors.delivery_failures_by_reason(date_range=r)),
        ("returns by status", lambda: shipping_selectors.returns_by_status(date_range=r)),
        ("CSAT per week", lambda: notification_selectors.csat_by_period(date_range=r, period="week")),
        ("latest comments", lambda: notification_selectors.feedback_comments(date_range=r)),
        ("orders needing attention (count, first 20)", attention),
        ("the whole owner report", lambda: owner_report(date_range=r, period="day").tables()),
    ]


def measure(runs: int, before: dict, *, export: bool, cpu: bool) -> dict:
    """Per range (``"365"``, ``"30"``): the median milliseconds of each figure (``"ms"``) and, with ``cpu``, the
    database backend's CPU milliseconds (``"cpu_ms"``; parallel query off, so the backend does all the work).
    ``before`` (a saved run) is printed alongside."""
    import datetime as dt

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from flowmart.reporting import DateRange
    from orders import selectors as order_selectors

    today = timezone.localdate()
    with connection.cursor() as c:
        c.execute("SELECT count(*) FROM orders_order")
        orders = c.fetchone()[0]
        c.execute("SELECT count(*) FROM orders_orderline")
        lines = c.fetchone()[0]
        if cpu:
            c.execute("SET max_parallel_workers_per_gather = 0")
    backend_cpu = backend_cpu_reader() if cpu else None
    print(f"{orders:,} orders, {lines:,} lines; PostgreSQL {connection.pg_version // 10000}; {runs} runs each")
    if cpu and backend_cpu is None:
        print("(no database CPU: the server is not on this machine)")
    medians: dict[str, dict[str, dict[str, float]]] = {}
    for days in (365, 30):
        r = DateRange(since=today - dt.timedelta(days=days - 1), until=today)
        measured = figures(r)
        with CaptureQueriesContext(connection) as report_queries:
            measured[-1][1]()
        print(f"Range: last {days} days (the whole report: {len(report_queries.captured_queries)} queries)")
        results = {label: timed(label, call, runs, before.get(str(days), {}), backend_cpu) for label, call in measured}
        medians[str(days)] = {"ms": {label: ms for label, (ms, _cpu) in results.items()}}
        if backend_cpu:
            medians[str(days)]["cpu_ms"] = {label: cpu_ms for label, (_ms, cpu_ms) in results.items()}

    if not export:
        return medians

    from flowmart.csv_export import csv_lines

    def export_to_nowhere() -> int:
        export = order_selectors.orders_export()
        return sum(1 for _ in csv_lines(export.header, export.rows)) - 1

    started = time.perf_counter()
    rows = export_to_nowhere()
    elapsed = time.perf_counter() - started
    tracemalloc.start()  # a second run for the memory: tracing slows Python down several times
    export_to_nowhere()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"Orders export (CSV text, discarded): {rows:,} rows in {elapsed:.1f} s, peak Python memory {peak / 1e6:.1f} MB"
    )
    return medians


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="reuse the seeded scratch database (migrated)")
    parser.add_argument("--save", type=Path, help="write the medians to this JSON file")
    parser.add_argument("--before", type=Path, help="a file --save wrote: print its medians alongside")
    parser.add_argument("--no-export", action="store_true", help="time the report's figures only")
    parser.add_argument(
        "--cpu", action="store_true", help="also measure the database backend's CPU per figure (parallel query off)"
    )
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL")
    if not base:
        sys.exit("DATABASE_URL must point at a PostgreSQL server where the bench may create a database")
    scratch, maintenance, database = scratch_database_url(base)
    if not args.keep:
        recreate_database(maintenance, database)
    setup_django(scratch)
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"Migrated {database} in {time.perf_counter() - started:.1f} s")
    if not args.keep:
        started = time.perf_counter()
        seed(args.orders)
        print(f"Seeded {args.orders:,} orders in {time.perf_counter() - started:.1f} s")
    before = json.loads(args.before.read_text()) if args.before else {}
    medians = measure(args.runs, before, export=not args.no_export, cpu=args.cpu)
    if args.save:
        args.save.write_text(json.dumps(medians, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
