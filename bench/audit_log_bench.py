"""Audit log benchmark: seed N staff actions (100,000 by default) and M history events (price changes), then time
what the admin's audit log page and its CSV export ask of the one log (``AuditLogRow``), next to the same reads
of the staff actions' table alone (what the page read before it showed both kinds).

    .venv/bin/python bench/audit_log_bench.py                      # 100,000 actions, 20,000 price changes
    .venv/bin/python bench/audit_log_bench.py --actions 20000 --changes 5000 --keep

Seeding is ``INSERT … SELECT generate_series(…)`` for the actions and plain ``UPDATE``s of variants' prices for
the changes (so pghistory's triggers write the events as in production). It runs in a scratch database
(``<your database>_audit_bench``, dropped and re-created, migrated). Needs ``DATABASE_URL``.
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

from bench.reports_bench import recreate_database, setup_django  # noqa: E402


def scratch_database_url(base_url: str) -> tuple[str, str, str]:
    parts = urlsplit(base_url)
    database = f"{parts.path.lstrip('/') or 'flowmart'}_audit_bench"
    return urlunsplit(parts._replace(path=f"/{database}")), urlunsplit(parts._replace(path="/postgres")), database


def seed(*, actions: int, changes: int, variants: int = 1000) -> None:
    from django.db import connection

    from tests.inventory.factories import ProductFactory

    product = ProductFactory(name="Bench", slug="bench")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO inventory_variant (product_id, sku, name, options, price_minor, currency, weight_grams, "
            "barcode, is_active, position) SELECT %s, 'B-' || i, '', '{}', 1000, 'USD', 0, '', true, 0 "
            "FROM generate_series(1, %s) i",
            [product.pk, variants],
        )
        for _ in range(max(changes // variants, 1)):
            cursor.execute("UPDATE inventory_variant SET price_minor = price_minor + 1")
        cursor.execute(
            "INSERT INTO staff_auditentry (at, actor_email, action, label, object_type, object_id, object_repr, "
            "before, data, reason, ip, source) SELECT now() - (i || ' seconds')::interval, 'staff' || (i %% 7) || "
            "'@bench.example', 'orders.order.hold', 'Put on hold', 'orders.order', i::text, 'FM-' || i, "
            """'{"status": "confirmed"}', '{}', 'bench', '10.0.0.1', 'admin' FROM generate_series(1, %s) i""",
            [actions],
        )
        cursor.execute(
            "INSERT INTO staff_auditoutcome (entry_id, at, outcome, after, error_code, error_detail) "
            """SELECT id, at, 'done', '{"status": "on_hold"}', '', '' FROM staff_auditentry"""
        )
        cursor.execute("ANALYZE")


def timed(fn, repeat: int = 5) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actions", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    url, maintenance_url, database = scratch_database_url(os.environ["DATABASE_URL"])
    recreate_database(maintenance_url, database)
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    seed(actions=args.actions, changes=args.changes)

    from flowmart.staff.models import AuditEntry, AuditLogRow
    from flowmart.staff.selectors import audit_log, audit_log_export

    total = AuditLogRow.objects.count()
    print(f"{AuditEntry.objects.count():,} staff actions, {total - AuditEntry.objects.count():,} history events")
    figures = {
        "staff actions only: count (before)": lambda: AuditEntry.objects.count(),
        "staff actions only: newest 100 (before)": lambda: list(AuditEntry.objects.order_by("-at", "-id")[:100]),
        "one log: count": lambda: AuditLogRow.objects.count(),
        "one log: newest 100": lambda: list(audit_log()[:100]),
        "one log: newest 100 price changes": lambda: list(audit_log(object_type="inventory.variant")[:100]),
        "one log: newest 100 of one actor": lambda: list(audit_log(actor_email="staff3@bench.example")[:100]),
        "one log: one object's history": lambda: list(audit_log(object_type="inventory.variant", object_id="5")),
    }
    for name, fn in figures.items():
        print(f"{name:45} {timed(fn):8.1f} ms")

    tracemalloc.start()
    started = time.perf_counter()
    lines = sum(1 for _ in audit_log_export(audit_log()).rows)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"{'one log: CSV export, all rows':45} {elapsed * 1000:8.1f} ms  ({lines:,} rows, peak {peak:.1f} MiB)")

    if not args.keep:
        import psycopg
        from django.db import connections

        connections.close_all()
        with psycopg.connect(maintenance_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
