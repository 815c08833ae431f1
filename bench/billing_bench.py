"""Billing benchmark: bill N due subscriptions on the sandbox gateway and report how the time grows.

    .venv/bin/python bench/billing_bench.py                      # 10,000 then 100,000, 2 workers
    .venv/bin/python bench/billing_bench.py --sizes 2000 20000 --workers 1

What it measures: exactly the service the beat task fans out,
``subscriptions.billing.billing_bill_batch`` over batches of
``--batch-size`` ids (the Celery batch task's body), run by ``--workers``
processes in parallel as Celery workers would be, against the sandbox
gateway through ``payments.services.payment_charge`` (Payment rows, the
sandbox's own books, transitions, outbox events: all real).

``--synchronous-commit off`` (the default here) lets commits return before
the WAL is flushed to disk: the sandbox payments path commits about ten
times per charge, and on a shared, busy disk those flushes dominate. Use
``--synchronous-commit on`` for production-like durability.

What it leaves out: the broker. Outbox rows are written as in production,
but their after-commit hand-off to Celery is switched off (in production the
event dispatcher does that asynchronously), so the figures are the billing
path and the database, not Redis.

It runs in a scratch database (``<your database>_billing_bench``, dropped and
re-created, migrated) so it never touches real data. Needs ``DATABASE_URL``
pointing at a PostgreSQL server where it may create databases.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def scratch_database_url(base_url: str, name: str | None) -> tuple[str, str, str]:
    parts = urlsplit(base_url)
    database = name or f"{parts.path.lstrip('/') or 'flowmart'}_billing_bench"
    scratch = urlunsplit(parts._replace(path=f"/{database}"))
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    return scratch, maintenance, database


def recreate_database(maintenance_url: str, database: str) -> None:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')


def setup_django(database_url: str, *, synchronous_commit: str = "on") -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowmart.settings")
    os.environ["DEBUG"] = "false"  # no query log in memory
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("FLOWMART_ENV", "development")
    os.environ.setdefault("DB_CONN_MAX_AGE", "600")
    import django

    django.setup()
    from flowmart.events import publisher

    publisher._send_dispatch = lambda event_id: None  # see the module docstring: no broker in the measurement
    if synchronous_commit != "on":
        from django.db.backends.signals import connection_created

        def _session_settings(sender, connection, **kwargs):
            with connection.cursor() as cursor:
                cursor.execute(f"SET synchronous_commit TO {synchronous_commit}")

        connection_created.connect(_session_settings, weak=False)


def reset_tables() -> None:
    from django.db import connection

    tables = [
        "subscriptions_invoicetransition",
        "subscriptions_invoiceline",
        "subscriptions_invoice",
        "subscriptions_subscriptiontransition",
        "subscriptions_subscription",
        "payments_paymenttransition",
        "payments_payment",
        "payments_sandboxcharge",
        "payments_sandboxrequest",
        "events_delivery",
        "events_outboxevent",
    ]
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        cursor.execute("TRUNCATE " + ", ".join(t for t in tables if t in existing) + " CASCADE")  # noqa: S608
        cursor.execute("DELETE FROM users_user WHERE email LIKE 'bench-%%@example.com'")


def create_due_subscriptions(n: int) -> None:
    """n customers, each with an active monthly subscription whose period ended an hour ago (bulk inserts)."""
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from flowmart.users.models import User
    from subscriptions.models import Plan, Subscription, SubscriptionStatus, Tier

    tier, _ = Tier.objects.get_or_create(name="Plus", defaults={"free_shipping": True, "percent_off": 10})
    plan, _ = Plan.objects.get_or_create(
        code="plus-monthly", defaults={"name": "FlowMart Plus", "tier": tier, "price_minor": 999}
    )
    end = timezone.now() - timedelta(hours=1)
    start = end - timedelta(days=30)
    chunk = 5000
    with transaction.atomic():
        for offset in range(0, n, chunk):
            size = min(chunk, n - offset)
            users = User.objects.bulk_create(
                [User(email=f"bench-{offset + i}@example.com", password="!") for i in range(size)]  # noqa: S106
            )
            Subscription.objects.bulk_create(
                [
                    Subscription(
                        user=user,
                        plan=plan,
                        status=SubscriptionStatus.ACTIVE,
                        current_period_start=start,
                        current_period_end=end,
                        payment_method="pm_card_visa",
                        payment_method_label="visa •••• 4242",
                    )
                    for user in users
                ]
            )


def _bill(batch: list[int]) -> tuple[int, int, int]:
    from subscriptions.billing import billing_bill_batch

    report = billing_bill_batch(subscription_ids=batch)
    return report.paid, report.failed, report.deferred


def run_billing(*, workers: int, batch_size: int) -> tuple[float, int, int]:
    from django.db import connections

    from subscriptions.billing import billing_batches

    started = time.perf_counter()
    batches = billing_batches(batch_size=batch_size)
    paid = failed = 0
    if workers <= 1:
        for batch in batches:
            p, f, _ = _bill(batch)
            paid, failed = paid + p, failed + f
    else:
        connections.close_all()  # each forked worker opens its own connection
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for p, f, _ in pool.imap_unordered(_bill, batches):
                paid, failed = paid + p, failed + f
    return time.perf_counter() - started, paid, failed


def verify(n: int) -> str:
    from django.db.models import Count

    from subscriptions.models import Invoice

    invoices = Invoice.objects.count()
    duplicates = Invoice.objects.values("subscription", "period_start").annotate(c=Count("id")).filter(c__gt=1).count()
    assert invoices == n, f"expected {n} invoices, found {invoices}"
    assert duplicates == 0, "a period was billed twice"
    return f"{invoices:,} invoices, 0 duplicates"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--workers", type=int, default=2, help="parallel billing processes (Celery workers)")
    parser.add_argument("--batch-size", type=int, default=200, help="ids per batch task (BILLING_BATCH_SIZE)")
    parser.add_argument("--database", default=None, help="scratch database name")
    parser.add_argument(
        "--synchronous-commit",
        choices=["on", "off"],
        default="off",
        help="PostgreSQL synchronous_commit for the billing sessions (off: commits do not wait for the WAL flush; "
        "the payments sandbox commits ~10 times per charge, so on a busy disk this dominates)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    args = parser.parse_args()

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flowmart")
    scratch, maintenance, database = scratch_database_url(base, args.database)
    print(f"scratch database {database}: creating and migrating…", flush=True)
    recreate_database(maintenance, database)
    setup_django(scratch, synchronous_commit=args.synchronous_commit)
    print(
        f"workers={args.workers} batch_size={args.batch_size} synchronous_commit={args.synchronous_commit}", flush=True
    )
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    results = []
    for n in args.sizes:
        reset_tables()
        t0 = time.perf_counter()
        create_due_subscriptions(n)
        setup_s = time.perf_counter() - t0
        elapsed, paid, failed = run_billing(workers=args.workers, batch_size=args.batch_size)
        check = verify(n)
        rate = n / elapsed
        results.append((n, elapsed, rate))
        print(
            f"{n:>9,} due subscriptions: billed in {elapsed:8.1f} s = {rate:8.0f} subscriptions/s "
            f"(paid {paid:,}, failed {failed:,}; {check}; setup {setup_s:.1f} s; "
            f"{args.workers} worker(s), batches of {args.batch_size})",
            flush=True,
        )
    if len(results) >= 2:
        (n1, t1, r1), (n2, t2, r2) = results[0], results[-1]
        per_sub = (t2 / n2) / (t1 / n1)
        verdict = (
            "linear" if 0.75 <= per_sub <= 1.33 else ("better than linear" if per_sub < 0.75 else "WORSE than linear")
        )
        print(
            f"growth {n1:,} → {n2:,} (×{n2 / n1:.0f} subscriptions): time ×{t2 / t1:.2f}, "
            f"throughput {r1:.0f} → {r2:.0f}/s, time per subscription ×{per_sub:.2f} ({verdict})"
        )

    if not args.keep:
        from django.db import connections

        connections.close_all()
        import psycopg

        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
