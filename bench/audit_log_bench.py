"""Audit log benchmark: seed N staff actions (100,000 by default, one a second over the hours around the price
changes) and M price changes (about 21,000, by a Manager in the admin: pghistory's triggers write the events and
the log's trigger appends each to the log), then time what the admin's audit log
page, its CSV export and the staff API ask of the log: the selector's queries alone, and whole pages through
Django's test client (filters' choices, count, the newest 100 rendered) as a Finance user would open them.

    .venv/bin/python bench/audit_log_bench.py                      # 100,000 actions, ~21,000 price changes
    .venv/bin/python bench/audit_log_bench.py --actions 20000 --changes 5000 --keep
    PGOPTIONS="-c jit=off" .venv/bin/python bench/audit_log_bench.py   # the same with PostgreSQL's JIT off

It also times what the log costs a change: one ``UPDATE`` of 1,000 variants' prices with the variants' event
table's audit trigger enabled and disabled.

Seeding is ``INSERT … SELECT generate_series(…)`` for the actions and plain ``UPDATE``s of variants' prices for
the changes (so the triggers write the events and the log's lines as in production). It runs in a scratch
database (``<your database>_audit_bench``, dropped and re-created, migrated). Needs ``DATABASE_URL``.
Figures: docs/staff.md §Audit log.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.reports_bench import insert_select, recreate_database, setup_django  # noqa: E402

VARIANTS = 1000
ACTORS = 7
FINANCE = "finance@bench.example"


def scratch_database_url(base_url: str) -> tuple[str, str, str]:
    parts = urlsplit(base_url)
    database = f"{parts.path.lstrip('/') or 'flowmart'}_audit_bench"
    return urlunsplit(parts._replace(path=f"/{database}")), urlunsplit(parts._replace(path="/postgres")), database


def seed(*, actions: int, changes: int) -> float:
    """Returns the seconds the price changes took (their events and log lines written by the triggers)."""
    import pghistory
    from django.contrib.auth.models import Group
    from django.db import connection

    from flowmart.users.models import User
    from tests.inventory.factories import ProductFactory

    finance = User.objects.create_user(email=FINANCE, is_staff=True)
    finance.groups.add(Group.objects.get(name="Finance"))
    manager = User.objects.create_user(email="manager@bench.example", is_staff=True)
    for i in range(ACTORS):
        User.objects.create_user(email=f"staff{i}@bench.example", is_staff=True)
    product = ProductFactory(name="Bench", slug="bench")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO inventory_variant (product_id, sku, name, options, price_minor, currency, weight_grams, "
            "barcode, is_active, position) SELECT %s, 'B-' || i, '', '{}', 1000, 'USD', 0, '', true, 0 "
            "FROM generate_series(1, %s) i",
            [product.pk, VARIANTS],
        )
        started = time.perf_counter()
        with pghistory.context(user=manager.pk, ip="10.0.0.2", url=f"/admin/inventory/product/{product.pk}/change/"):
            for _ in range(max(changes // VARIANTS, 1)):
                cursor.execute("UPDATE inventory_variant SET price_minor = price_minor + 1")
        changes_seconds = time.perf_counter() - started
        # The actions span the hours around the price changes (half before, half after), as a log's lines would.
        insert_select(
            cursor,
            "staff_auditentry",
            {
                "kind": "'action'",
                "at": f"now() + interval '{actions // 2} seconds' - (i || ' seconds')::interval",
                "actor_id": "a.id",
                "actor_email": "a.email",
                "action": "'orders.order.hold'",
                "label": "'Put on hold'",
                "object_type": "'orders.order'",
                "object_id": "i::text",
                "object_repr": "'FM-' || i",
                "before": """'{"status": "confirmed"}'""",
                "reason": "'bench'",
                "ip": "'10.0.0.1'",
                "source": "'admin'",
            },
            f"generate_series(1, {actions}) i JOIN (SELECT row_number() OVER (ORDER BY email) - 1 AS n, id, email "  # noqa: S608
            f"FROM users_user WHERE email LIKE 'staff%@bench.example') a ON a.n = i % {ACTORS}",
        )
        # One in a hundred refused; the ten newest have no outcome yet (their process is "running").
        cursor.execute(
            "INSERT INTO staff_auditoutcome (entry_id, at, outcome, after, error_code, error_detail) "
            "SELECT id, at, CASE WHEN id % 100 = 0 THEN 'refused' ELSE 'done' END, "
            """'{"status": "on_hold"}', '', '' FROM staff_auditentry """
            "WHERE kind = 'action' AND id NOT IN (SELECT id FROM staff_auditentry WHERE kind = 'action' "
            "ORDER BY at DESC LIMIT 10)"
        )
    with connection.cursor() as cursor:  # what autovacuum does soon after (visibility map: index-only scans)
        cursor.execute("VACUUM ANALYZE")
    return changes_seconds


def timed(fn, repeat: int = 5, clock=time.perf_counter) -> float:
    runs = []
    for _ in range(repeat):
        started = clock()
        fn()
        runs.append(clock() - started)
    return statistics.median(runs) * 1000


def page(client, url: str):
    def get():
        response = client.get(url, secure=True)
        assert response.status_code == 200, (url, response.status_code)
        if hasattr(response, "streaming_content"):
            return sum(len(chunk) for chunk in response.streaming_content)
        return len(response.content)

    return get


def update_cost() -> tuple[float, float]:
    """Milliseconds of one UPDATE of every variant's price, with and without the log's trigger."""
    from django.apps import apps
    from django.db import connection, transaction

    events = apps.get_model("inventory", "VariantEvent")
    trigger = next(t for t in events._meta.triggers if t.name == "audit_log")
    table, pgid = events._meta.db_table, trigger.get_pgid(events)
    figures = []
    for enabled in (True, False):
        runs = []
        for _ in range(3):
            with transaction.atomic(), connection.cursor() as cursor:
                if not enabled:
                    cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {pgid}")
                started = time.perf_counter()
                cursor.execute("UPDATE inventory_variant SET price_minor = price_minor + 1")
                runs.append(time.perf_counter() - started)
                transaction.set_rollback(True)
        figures.append(statistics.median(runs) * 1000)
    return figures[0], figures[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actions", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=21_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    url, maintenance_url, database = scratch_database_url(os.environ["DATABASE_URL"])
    recreate_database(maintenance_url, database)
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    call_command("migrate", "--noinput", verbosity=0)
    changes_seconds = seed(actions=args.actions, changes=args.changes)

    from flowmart.staff.models import AuditEntry
    from flowmart.staff.selectors import audit_log, audit_log_export
    from flowmart.users.models import User

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        jit = cursor.fetchone()[0]
    kinds = dict(AuditEntry.objects.values_list("kind").annotate(n=Count("id")))
    print(f"{kinds.get('action', 0):,} staff actions, {kinds.get('change', 0):,} changes; PostgreSQL jit={jit}")
    per_change = changes_seconds * 1e6 / max(kinds.get("change", 1), 1)
    print(f"{'seeding: price changes, per change (event + log line)':58} {per_change:8.1f} µs")
    with_trigger, without = update_cost()
    print(f"{'UPDATE of 1,000 prices, with the log trigger':58} {with_trigger:8.1f} ms")
    print(f"{'UPDATE of 1,000 prices, without it':58} {without:8.1f} ms")

    actor = "staff3@bench.example"
    queries = {
        "query: count": lambda: audit_log().count(),
        "query: newest 100": lambda: list(audit_log()[:100]),
        "query: newest 100 changes (kind)": lambda: list(audit_log(kind="change")[:100]),
        "query: newest 100 price changes (object type)": lambda: list(audit_log(object_type="inventory.variant")[:100]),
        "query: one actor: count": lambda: audit_log(actor_email=actor).count(),
        "query: one actor: newest 100": lambda: list(audit_log(actor_email=actor)[:100]),
        "query: one object's history": lambda: list(audit_log(object_type="inventory.variant", object_id="5")),
        "query: refused: newest 100": lambda: list(audit_log(outcome="refused")[:100]),
        "query: unfinished: count": lambda: audit_log(outcome="unfinished").count(),
    }
    for name, fn in queries.items():
        print(f"{name:58} {timed(fn):8.1f} ms")

    setup_test_environment()  # the test client's host is allowed
    client = Client()
    client.force_login(User.objects.get(email=FINANCE))
    log = "/admin/staff/auditentry/"
    pages = {
        "admin page: floor (Staff desk's index, reads no log)": "/admin/staff/",
        "admin page: newest 100 (with count)": f"{log}",
        "admin page: one actor": f"{log}?actor_email={actor}",
        "admin page: one object's history": f"{log}?object_type=inventory.variant&object_id=5",
        "admin page: changes only": f"{log}?kind__exact=change",
        "admin page: refused": f"{log}?outcome=refused",
        "admin page: one day": f"{log}?at__gte=2000-01-01&at__lt=2000-01-02",
        "admin page: search an order number": f"{log}?q=FM-4242",
        "admin page: search an actor (1 line in 9 matches)": f"{log}?q=staff3",
        "admin page: one entry": f"{log}{AuditEntry.objects.order_by('-id').values_list('id', flat=True)[0]}/change/",
        "staff API: newest page": "/api/v1/staff/audit-log/",
        "staff API: one actor": f"/api/v1/staff/audit-log/?actor_email={actor}",
        "staff API: one object": "/api/v1/staff/audit-log/?object_type=inventory.variant&object_id=5",
    }
    print(f"{'':58} {'wall':>8}     {'CPU':>6} {'SQL':>6} queries   (median of 5; CPU: this process's)")
    for name, url in pages.items():
        elapsed, cpu = timed(page(client, url)), timed(page(client, url), clock=time.process_time)
        with CaptureQueriesContext(connection) as queries:
            page(client, url)()
        sql = sum(float(q["time"]) for q in queries.captured_queries) * 1000
        print(f"{name:58} {elapsed:8.1f} ms  {cpu:6.1f} {sql:6.1f} {len(queries):7}")

    tracemalloc.start()
    started = time.perf_counter()
    lines = sum(1 for _ in audit_log_export(audit_log()).rows)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"{'CSV rows, all (selector)':58} {elapsed * 1000:8.1f} ms  ({lines:,} rows, peak {peak:.1f} MiB)")
    started = time.perf_counter()
    size = page(client, f"{log}export.csv")()
    elapsed = time.perf_counter() - started
    print(f"{'CSV download, all (admin, streamed)':58} {elapsed * 1000:8.1f} ms  ({size / 2**20:.1f} MiB)")

    if not args.keep:
        import psycopg
        from django.db import connections

        connections.close_all()
        with psycopg.connect(maintenance_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
