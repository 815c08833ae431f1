"""Payments and refunds as CSV (``manage.py export payments|refunds``, the admin's *Export CSV*). Streamed:
one query through a server-side cursor. Never a card number: only the brand and last four digits we keep."""

from __future__ import annotations

from django.db.models import QuerySet

from flowmart.csv_export import CHUNK_SIZE, CsvExport, money_cell, time_cell
from payments.models import Payment, Refund


def payments_export(*, payments: QuerySet[Payment] | None = None) -> CsvExport:
    qs = (Payment.objects.all() if payments is None else payments).order_by("created_at", "id")
    rows = qs.values_list(
        "id", "reference", "created_at", "status", "currency", "amount_minor", "captured_minor", "refunded_minor",
        "gateway", "gateway_ref", "brand", "last4", "customer_email", "decline_code",
    )  # fmt: skip

    def generate():
        for (
            pid,
            ref,
            created,
            status,
            cur,
            amount,
            captured,
            refunded,
            gateway,
            gref,
            brand,
            last4,
            email,
            decline,
        ) in rows.iterator(chunk_size=CHUNK_SIZE):
            yield [
                str(pid), ref, time_cell(created), status, cur, money_cell(amount, cur), money_cell(captured, cur),
                money_cell(refunded, cur), gateway, gref, brand, last4, email, decline,
            ]  # fmt: skip

    header = ["payment", "reference", "created_at", "status", "currency", "amount", "captured", "refunded",
              "gateway", "gateway_ref", "brand", "last4", "customer_email", "decline_code"]  # fmt: skip
    return CsvExport(header=header, rows=generate())


def refunds_export(*, refunds: QuerySet[Refund] | None = None) -> CsvExport:
    qs = (Refund.objects.all() if refunds is None else refunds).order_by("created_at", "id")
    rows = qs.values_list(
        "id", "payment_id", "payment__reference", "created_at", "status", "currency", "amount_minor", "reason",
        "requested_by__email", "decided_by__email", "decided_at", "gateway_ref",
    )  # fmt: skip

    def generate():
        for rid, pid, ref, created, status, cur, amount, reason, requester, decider, decided, gref in rows.iterator(
            chunk_size=CHUNK_SIZE
        ):
            yield [
                str(rid), str(pid), ref, time_cell(created), status, cur, money_cell(amount, cur), reason,
                requester or "", decider or "", time_cell(decided), gref,
            ]  # fmt: skip

    header = ["refund", "payment", "reference", "created_at", "status", "currency", "amount", "reason",
              "requested_by", "decided_by", "decided_at", "gateway_ref"]  # fmt: skip
    return CsvExport(header=header, rows=generate())
