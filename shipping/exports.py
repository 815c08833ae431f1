"""Returns as CSV (``manage.py export returns``, the admin's *Export CSV*): one row per returned line, the
return's figures repeated. Streamed: one query through a server-side cursor."""

from __future__ import annotations

from django.db.models import QuerySet

from flowmart.csv_export import CHUNK_SIZE, CsvExport, money_cell, time_cell
from shipping.models import ReturnLine, ReturnRequest


def returns_export(*, returns: QuerySet[ReturnRequest] | None = None) -> CsvExport:
    lines = ReturnLine.objects.all()
    if returns is not None:
        lines = lines.filter(return_request__in=returns.order_by().values("pk"))
    rows = lines.order_by("return_request__created_at", "return_request_id", "id").values_list(
        "return_request__rma_number", "return_request__order_number", "return_request__created_at",
        "return_request__status", "return_request__decision", "return_request__customer_email",
        "return_request__reason", "return_request__currency", "return_request__refund_minor",
        "return_request__received_at", "sku", "name", "quantity", "unit_price_minor", "replacement_sku",
    )  # fmt: skip

    def generate():
        for (
            rma,
            order,
            created,
            status,
            decision,
            email,
            reason,
            cur,
            refund,
            received,
            sku,
            name,
            qty,
            unit,
            repl,
        ) in rows.iterator(chunk_size=CHUNK_SIZE):
            yield [
                rma, order, time_cell(created), status, decision, email, reason, cur, money_cell(refund, cur),
                time_cell(received), sku, name, qty, money_cell(unit, cur), repl,
            ]  # fmt: skip

    header = ["rma", "order", "created_at", "status", "decision", "customer_email", "reason", "currency",
              "refund", "received_at", "sku", "name", "quantity", "unit_price", "replacement_sku"]  # fmt: skip
    return CsvExport(header=header, rows=generate())
