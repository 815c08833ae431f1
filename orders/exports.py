"""Orders as CSV (``manage.py export orders``, Admin → Orders → *Export CSV*): one row per order line, the
order's figures repeated on each. Streamed: one query through a server-side cursor, whatever the count."""

from __future__ import annotations

from django.db.models import QuerySet

from flowmart.csv_export import CHUNK_SIZE, CsvExport, money_cell, time_cell
from orders.models import Order, OrderLine

ORDER_COLUMNS = [
    "order",
    "placed_at",
    "status",
    "email",
    "customer_name",
    "currency",
    "subtotal",
    "discount",
    "shipping",
    "total",
    "captured",
    "refunded",
    "shipping_method",
    "country",
]
LINE_COLUMNS = ["sku", "name", "variant", "quantity", "unit_price", "line_discount", "line_total"]


def orders_export(*, orders: QuerySet[Order] | None = None) -> CsvExport:
    """``orders``: the ones to export (an admin changelist's filtered queryset); all when None."""
    lines = OrderLine.objects.all()
    if orders is not None:
        lines = lines.filter(order__in=orders.order_by().values("pk"))
    rows = lines.order_by("order__placed_at", "order_id", "id").values_list(
        "order__number",
        "order__placed_at",
        "order__status",
        "order__email",
        "order__customer_name",
        "order__currency",
        "order__subtotal_minor",
        "order__discount_minor",
        "order__shipping_minor",
        "order__total_minor",
        "order__captured_minor",
        "order__refunded_minor",
        "order__shipping_method",
        "order__shipping_address__country",
        "sku",
        "name",
        "variant_name",
        "quantity",
        "unit_price_minor",
        "discount_minor",
        "line_total_minor",
    )

    def generate():
        for (
            number,
            placed_at,
            status,
            email,
            name,
            cur,
            sub,
            disc,
            ship,
            total,
            capt,
            refd,
            method,
            country,
            sku,
            line_name,
            variant,
            qty,
            unit,
            line_disc,
            line_total,
        ) in rows.iterator(chunk_size=CHUNK_SIZE):
            yield [
                number,
                time_cell(placed_at),
                status,
                email,
                name,
                cur,
                money_cell(sub, cur),
                money_cell(disc, cur),
                money_cell(ship, cur),
                money_cell(total, cur),
                money_cell(capt, cur),
                money_cell(refd, cur),
                method,
                country or "",
                sku,
                line_name,
                variant,
                qty,
                money_cell(unit, cur),
                money_cell(line_disc, cur),
                money_cell(line_total, cur),
            ]

    return CsvExport(header=ORDER_COLUMNS + LINE_COLUMNS, rows=generate())
