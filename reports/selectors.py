"""The owner's report: every app's figures for one date range, composed (docs/operations.md §Reports).

Each figure is an aggregate query in its app's selectors (``orders/figures.py``, ``shipping/figures.py``,
``notifications``, ``inventory``, ``flowmart.events``), so the number of queries is the same for ten orders or
a hundred thousand; this module only puts them side by side and derives the rates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flowmart.events import selectors as event_selectors
from flowmart.money import Money
from flowmart.reporting import DateRange
from inventory import selectors as inventory_selectors
from notifications import selectors as notification_selectors
from orders import selectors as order_selectors
from shipping import selectors as shipping_selectors

ATTENTION_LIMIT = 20


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class Table:
    """One table of the report, as shown on the reports page and downloaded as CSV (``slug``.csv)."""

    slug: str
    title: str
    columns: list[str]
    rows: list[list]


@dataclass(frozen=True)
class Totals:
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
        return (2 * self.net_minor + self.orders) // (2 * self.orders) if self.orders else 0

    @property
    def refund_rate_percent(self) -> float | None:
        """Share of the orders sold that had money refunded."""
        return _percent(self.refunded_orders, self.orders)


@dataclass(frozen=True)
class OwnerReport:
    date_range: DateRange
    period: str
    sales: list  # orders.selectors.SalesRow
    totals: list[Totals]
    categories: list  # orders.selectors.CategoryRow
    processing: list  # orders.selectors.StageTimes
    delivery: object  # shipping.selectors.DeliveryRates
    failures_by_reason: list[dict]
    returns: dict[str, int]
    orders_sold: int
    csat: list[dict]
    comments: list[dict]
    stock_alert_count: int
    stock_alerts: list[dict]
    dead_letters: dict[str, int]
    attention_count: int
    attention: list[dict] = field(default_factory=list)

    @property
    def returns_requested(self) -> int:
        return sum(self.returns.values())

    @property
    def return_rate_percent(self) -> float | None:
        """Return requests made in the range per order sold in it."""
        return _percent(self.returns_requested, self.orders_sold)

    @property
    def csat_responses(self) -> int:
        return sum(r["responses"] for r in self.csat)

    @property
    def csat_percent(self) -> float | None:
        return _percent(sum(r["satisfied"] for r in self.csat), self.csat_responses)

    def tables(self) -> list[Table]:
        def money(minor, currency):
            return Money(minor, currency).as_decimal()

        return [
            Table(
                "sales",
                f"Sales per {self.period}",
                [self.period, "currency", "orders", "gross", "refunded", "net", "average order (net)"],
                [
                    [
                        r.period.isoformat(),
                        r.currency,
                        r.orders,
                        money(r.gross_minor, r.currency),
                        money(r.refunded_minor, r.currency),
                        money(r.net_minor, r.currency),
                        money(r.average_order_minor, r.currency),
                    ]
                    for r in self.sales
                ],
            ),
            Table(
                "categories",
                "Sales by category",
                ["category", "currency", "orders", "units", "line sales"],
                [
                    [r.category, r.currency, r.orders, r.units, money(r.sales_minor, r.currency)]
                    for r in self.categories
                ],
            ),
            Table(
                "processing",
                "Order processing time (hours)",
                ["stage", "orders", "p50", "p90"],
                [[r.stage, r.orders, r.p50_hours, r.p90_hours] for r in self.processing],
            ),
            Table(
                "delivery",
                "Deliveries",
                [
                    "dispatched",
                    "ended",
                    "delivered",
                    "first attempt",
                    "returned to sender",
                    "on the way",
                    "delivery rate %",
                    "first-attempt rate %",
                ],
                [
                    [
                        self.delivery.dispatched,
                        self.delivery.ended,
                        self.delivery.delivered,
                        self.delivery.delivered_first_attempt,
                        self.delivery.returned_to_sender,
                        self.delivery.on_the_way,
                        self.delivery.delivery_rate_percent,
                        self.delivery.first_attempt_rate_percent,
                    ]
                ],
            ),
            Table(
                "delivery-failures",
                "Failed delivery attempts by reason",
                ["reason", "attempts"],
                [[r["reason"], r["attempts"]] for r in self.failures_by_reason],
            ),
            Table(
                "returns",
                "Returns and refunds",
                [
                    "currency",
                    "orders sold",
                    "orders refunded",
                    "refund rate %",
                    "refunded",
                    "returns requested",
                    "return rate %",
                    *(f"returns {s}" for s in self.returns),
                ],
                [
                    [
                        t.currency,
                        t.orders,
                        t.refunded_orders,
                        t.refund_rate_percent,
                        money(t.refunded_minor, t.currency),
                        self.returns_requested,
                        self.return_rate_percent,
                        *self.returns.values(),
                    ]
                    for t in self.totals
                ],
            ),
            Table(
                "csat",
                f"Customer satisfaction per {self.period}",
                [self.period, "responses", "satisfied (4–5)", "CSAT %", "average rating"],
                [
                    [r["period"].isoformat(), r["responses"], r["satisfied"], r["csat_percent"], r["average"]]
                    for r in self.csat
                ],
            ),
            Table(
                "comments",
                "Latest comments",
                ["order", "rating", "comment", "submitted at"],
                [[c["order_number"], c["rating"], c["comment"], c["submitted_at"].isoformat()] for c in self.comments],
            ),
            Table(
                "stock-alerts",
                "Stock alerts",
                ["sku", "product", "warehouse", "on hand", "reserved", "available", "threshold"],
                [
                    [
                        a["sku"],
                        a["product"],
                        a["warehouse"],
                        a["on_hand"],
                        a["reserved"],
                        a["available"],
                        a["threshold"],
                    ]
                    for a in self.stock_alerts
                ],
            ),
            Table(
                "attention",
                "Orders needing attention",
                ["order", "status", "problem", "placed at"],
                [
                    [o["number"], o["status"], o["failure_code"] or o["hold_reason"], o["placed_at"].isoformat()]
                    for o in self.attention
                ],
            ),
        ]

    def as_dict(self) -> dict:
        """Every figure as plain JSON values (money in minor units): the staff API's body and the weekly email's
        data."""
        return {
            "since": self.date_range.since.isoformat(),
            "until": self.date_range.until.isoformat(),
            "period": self.period,
            "totals": [
                {
                    "currency": t.currency,
                    "orders": t.orders,
                    "gross_minor": t.gross_minor,
                    "refunded_minor": t.refunded_minor,
                    "net_minor": t.net_minor,
                    "average_order_minor": t.average_order_minor,
                    "refunded_orders": t.refunded_orders,
                    "refund_rate_percent": t.refund_rate_percent,
                }
                for t in self.totals
            ],
            "sales": [
                {
                    "period": r.period.isoformat(),
                    "currency": r.currency,
                    "orders": r.orders,
                    "gross_minor": r.gross_minor,
                    "refunded_minor": r.refunded_minor,
                    "net_minor": r.net_minor,
                    "average_order_minor": r.average_order_minor,
                }
                for r in self.sales
            ],
            "categories": [
                {
                    "category": r.category,
                    "currency": r.currency,
                    "orders": r.orders,
                    "units": r.units,
                    "sales_minor": r.sales_minor,
                }
                for r in self.categories
            ],
            "processing": [
                {"stage": r.stage, "orders": r.orders, "p50_hours": r.p50_hours, "p90_hours": r.p90_hours}
                for r in self.processing
            ],
            "delivery": {
                "dispatched": self.delivery.dispatched,
                "ended": self.delivery.ended,
                "delivered": self.delivery.delivered,
                "delivered_first_attempt": self.delivery.delivered_first_attempt,
                "returned_to_sender": self.delivery.returned_to_sender,
                "on_the_way": self.delivery.on_the_way,
                "delivery_rate_percent": self.delivery.delivery_rate_percent,
                "first_attempt_rate_percent": self.delivery.first_attempt_rate_percent,
                "failures_by_reason": self.failures_by_reason,
            },
            "returns": {
                "orders_sold": self.orders_sold,
                "requested": self.returns_requested,
                "return_rate_percent": self.return_rate_percent,
                "by_status": self.returns,
            },
            "csat": {
                "responses": self.csat_responses,
                "csat_percent": self.csat_percent,
                "series": [{**r, "period": r["period"].isoformat()} for r in self.csat],
                "comments": [{**c, "submitted_at": c["submitted_at"].isoformat()} for c in self.comments],
            },
            "stock_alerts": {"count": self.stock_alert_count, "items": self.stock_alerts},
            "dead_letters": self.dead_letters,
            "orders_needing_attention": {
                "count": self.attention_count,
                "orders": [
                    {
                        "number": o["number"],
                        "status": o["status"],
                        "problem": o["failure_code"] or o["hold_reason"],
                        "placed_at": o["placed_at"].isoformat(),
                    }
                    for o in self.attention
                ],
            },
        }

    def table(self, slug: str) -> Table | None:
        return next((t for t in self.tables() if t.slug == slug), None)


def _totals(sales: list) -> list[Totals]:
    by_currency: dict[str, Totals] = {}
    for r in sales:
        t = by_currency.get(r.currency)
        by_currency[r.currency] = Totals(
            currency=r.currency,
            orders=r.orders + (t.orders if t else 0),
            gross_minor=r.gross_minor + (t.gross_minor if t else 0),
            refunded_minor=r.refunded_minor + (t.refunded_minor if t else 0),
            refunded_orders=r.refunded_orders + (t.refunded_orders if t else 0),
        )
    return [by_currency[c] for c in sorted(by_currency)]


def owner_report(*, date_range: DateRange, period: str = "day") -> OwnerReport:
    """Every figure of the owner's report for the range (days in the shop's time zone), grouped by ``period``
    (day, week or month) where it is a series. A fixed number of queries, whatever the number of orders."""
    sales = order_selectors.sales_by_period(date_range=date_range, period=period)
    alert_count, alerts = inventory_selectors.stock_alerts()
    attention = order_selectors.orders_needing_attention()
    return OwnerReport(
        date_range=date_range,
        period=period,
        sales=sales,
        totals=_totals(sales),
        categories=order_selectors.sales_by_category(date_range=date_range),
        processing=order_selectors.processing_times(date_range=date_range),
        delivery=shipping_selectors.delivery_rates(date_range=date_range),
        failures_by_reason=shipping_selectors.delivery_failures_by_reason(date_range=date_range),
        returns=shipping_selectors.returns_by_status(date_range=date_range),
        # Every sold order is in exactly one period's row: no second count over the orders.
        orders_sold=sum(r.orders for r in sales),
        csat=notification_selectors.csat_by_period(date_range=date_range, period=period),
        comments=notification_selectors.feedback_comments(date_range=date_range),
        stock_alert_count=alert_count,
        stock_alerts=alerts,
        dead_letters=event_selectors.dead_letter_counts(),
        attention_count=attention.count(),
        attention=list(
            attention.values("number", "status", "failure_code", "hold_reason", "placed_at").order_by("placed_at")[
                :ATTENTION_LIMIT
            ]
        ),
    )


def default_range(*, today: dt.date | None = None) -> DateRange:
    """The last 30 days, today included."""
    return DateRange.last_days(30, today=today)
