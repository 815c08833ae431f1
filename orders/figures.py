"""The orders' figures for the owner's reports (``reports`` composes them): aggregate SQL, one query per
figure however many orders there are (``tests/reports/test_figures.py`` counts them).

An order counts as **sold** once it was confirmed (stock held and the card authorized) and was neither
cancelled nor failed afterwards; it is counted in the period it was placed in. **Net** is its total less what
was refunded of it (``refunded_minor``: succeeded refunds only), so a return refunded next month lowers the
net of the month the order was placed in.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, CharField, Count, Q, Sum, Value, When

from flowmart.reporting import DateRange, HoursBetween, PercentileCont, period_start
from inventory import selectors as inventory_selectors
from orders.models import Order, OrderLine, OrderStatus

NOT_SOLD = [OrderStatus.CANCELLED, OrderStatus.FAILED]
UNCATEGORISED = "Uncategorised"


def _sold(date_range: DateRange, *, through: str = "") -> Q:
    """The orders sold in the range; ``through="order__"`` selects them from their lines (one join, where an
    ``order__in`` subquery joined the orders twice)."""
    return (
        Q(**{f"{through}confirmed_at__isnull": False})
        & Q(**{f"{through}{lookup}": value for lookup, value in date_range.lookup("placed_at").items()})
        & ~Q(**{f"{through}status__in": NOT_SOLD})
    )


@dataclass(frozen=True)
class SalesRow:
    period: object  # datetime.date: the first day of the day, week or month
    currency: str
    orders: int
    gross_minor: int
    refunded_minor: int
    refunded_orders: int

    @property
    def net_minor(self) -> int:
        return self.gross_minor - self.refunded_minor

    @property
    def average_order_minor(self) -> int:
        """Net revenue per order, rounded half up to the minor unit."""
        return (2 * self.net_minor + self.orders) // (2 * self.orders) if self.orders else 0


def sales_by_period(*, date_range: DateRange, period: str) -> list[SalesRow]:
    """Orders sold, gross, refunded and net revenue per day, week or month (and currency), oldest first."""
    rows = (
        Order.objects.filter(_sold(date_range))
        .annotate(period=period_start("placed_at", period))
        .values("period", "currency")
        .annotate(
            orders=Count("id"),
            gross=Sum("total_minor"),
            refunded=Sum("refunded_minor"),
            refunded_orders=Count("id", filter=Q(refunded_minor__gt=0)),
        )
        .order_by("period", "currency")
    )
    return [
        SalesRow(
            period=r["period"],
            currency=r["currency"],
            orders=r["orders"],
            gross_minor=r["gross"],
            refunded_minor=r["refunded"],
            refunded_orders=r["refunded_orders"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class CategoryRow:
    category: str
    currency: str
    orders: int
    units: int
    sales_minor: int  # line totals (after line discounts, before order-level discount and shipping)


def sales_by_category(*, date_range: DateRange) -> list[CategoryRow]:
    """What sold orders' lines add up to per product category (the SKU's category today; a SKU no longer in
    the catalog counts as "Uncategorised"), best-selling first.

    Two queries: the catalog's SKUs per category, then the lines grouped by a ``CASE`` over those SKUs (a
    subquery per line into the catalog took 0.6 s for 10,000 lines; bench/reports_bench.py)."""
    skus_by_category = inventory_selectors.skus_by_category()
    category = Case(
        *(When(sku__in=skus, then=Value(name)) for name, skus in sorted(skus_by_category.items()) if skus),
        default=Value(UNCATEGORISED),
        output_field=CharField(),
    )
    rows = (
        OrderLine.objects.filter(_sold(date_range, through="order__"))
        .annotate(category=category)
        .values("category", "order__currency")
        .annotate(orders=Count("order_id", distinct=True), units=Sum("quantity"), sales=Sum("line_total_minor"))
        .order_by("-sales", "category")
    )
    return [
        CategoryRow(
            category=r["category"],
            currency=r["order__currency"],
            orders=r["orders"],
            units=r["units"],
            sales_minor=r["sales"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class StageTimes:
    stage: str
    orders: int  # orders that went through this stage
    p50_hours: float | None
    p90_hours: float | None


# (label, from, to): placed → labelled (``Order.labelled_at``, the first label) → shipped → delivered.
STAGES = [
    ("placed → labelled", "placed_at", "labelled_at"),
    ("labelled → shipped", "labelled_at", "shipped_at"),
    ("shipped → delivered", "shipped_at", "delivered_at"),
    ("placed → delivered", "placed_at", "delivered_at"),
]


def processing_times(*, date_range: DateRange) -> list[StageTimes]:
    """p50 and p90 hours of each fulfilment stage for the orders placed in the range (one query): the times
    come from the order's own timestamps and, for "labelled", its first transition to ``fulfilling``."""
    # ``Order.labelled_at`` is stored when the first label is bought (``start_fulfilment``): no join to the
    # transition log (the join and GROUP BY cost most of this figure over 100,000 orders).
    orders = Order.objects.filter(**date_range.lookup("placed_at"))
    aggregates = {}
    for index, (_label, start, end) in enumerate(STAGES):
        hours = HoursBetween(start, end)
        aggregates[f"n{index}"] = Count("id", filter=Q(**{f"{start}__isnull": False, f"{end}__isnull": False}))
        aggregates[f"p50_{index}"] = PercentileCont(hours, fraction=0.5)
        aggregates[f"p90_{index}"] = PercentileCont(hours, fraction=0.9)
    result = orders.aggregate(**aggregates)

    def hours(value):
        return round(value, 2) if value is not None else None

    return [
        StageTimes(
            stage=label,
            orders=result[f"n{i}"],
            p50_hours=hours(result[f"p50_{i}"]),
            p90_hours=hours(result[f"p90_{i}"]),
        )
        for i, (label, _s, _e) in enumerate(STAGES)
    ]
