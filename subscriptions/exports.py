"""Subscription invoices as CSV (``manage.py export invoices``, the admin's *Export CSV*). Streamed: one query
through a server-side cursor."""

from __future__ import annotations

from django.db.models import QuerySet

from flowmart.csv_export import CHUNK_SIZE, CsvExport, money_cell, time_cell
from subscriptions.models import Invoice


def invoices_export(*, invoices: QuerySet[Invoice] | None = None) -> CsvExport:
    qs = (Invoice.objects.all() if invoices is None else invoices).order_by("issued_at", "id")
    rows = qs.values_list(
        "number", "issued_at", "status", "billing_reason", "customer_email", "subscription__plan__code",
        "period_start", "period_end", "currency", "subtotal_minor", "credit_applied_minor", "amount_minor",
        "payment_attempts", "paid_at",
    )  # fmt: skip

    def generate():
        for (
            number,
            issued,
            status,
            reason,
            email,
            plan,
            start,
            end,
            cur,
            sub,
            credit,
            amount,
            attempts,
            paid,
        ) in rows.iterator(chunk_size=CHUNK_SIZE):
            yield [
                number, time_cell(issued), status, reason, email, plan, time_cell(start), time_cell(end), cur,
                money_cell(sub, cur), money_cell(credit, cur), money_cell(amount, cur), attempts, time_cell(paid),
            ]  # fmt: skip

    header = ["invoice", "issued_at", "status", "billing_reason", "customer_email", "plan", "period_start",
              "period_end", "currency", "subtotal", "credit_applied", "amount_due", "declined_attempts", "paid_at"]  # fmt: skip
    return CsvExport(header=header, rows=generate())
