"""The owner's report on the seeded shop (tests/reports/conftest.py), against figures counted by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import Category
from reports.selectors import owner_report
from tests.inventory.factories import ProductFactory, VariantFactory
from tests.reports.conftest import at, make_order

pytestmark = pytest.mark.django_db


def test_sales_per_day_are_net_of_refunds_and_leave_out_unsold_orders(seeded_shop, report_range):
    """A 5000 + B 3250 (1250 refunded) on 2 March; C 2000 on 9 March; D cancelled, E unconfirmed, F earlier."""
    report = owner_report(date_range=report_range, period="day")

    assert [
        (r.period, r.orders, r.gross_minor, r.refunded_minor, r.net_minor, r.average_order_minor) for r in report.sales
    ] == [
        (dt.date(2026, 3, 2), 2, 8250, 1250, 7000, 3500),
        (dt.date(2026, 3, 9), 1, 2000, 0, 2000, 2000),
    ]
    [totals] = report.totals
    assert (totals.orders, totals.net_minor, totals.average_order_minor, totals.refund_rate_percent) == (
        3,
        9000,
        3000,
        33.3,
    )


def test_sales_per_week_and_month(seeded_shop, report_range):
    weekly = owner_report(date_range=report_range, period="week").sales
    assert [(r.period, r.orders, r.net_minor) for r in weekly] == [
        (dt.date(2026, 3, 2), 2, 7000),  # Monday 2 March
        (dt.date(2026, 3, 9), 1, 2000),
    ]
    monthly = owner_report(date_range=report_range, period="month").sales
    assert [(r.period, r.orders, r.gross_minor, r.net_minor, r.average_order_minor) for r in monthly] == [
        (dt.date(2026, 3, 1), 3, 10250, 9000, 3000)
    ]


def test_sales_by_category(seeded_shop, report_range):
    """Apparel: A's 2 tees and C's 1 (6000); Kitchen: B's 2 mugs (2500)."""
    report = owner_report(date_range=report_range)
    assert [(r.category, r.orders, r.units, r.sales_minor) for r in report.categories] == [
        ("Apparel", 2, 3, 6000),
        ("Kitchen", 1, 2, 2500),
    ]


def test_an_order_counts_once_in_each_category_its_lines_are_in(seeded_shop, report_range):
    """Order G: a tee and a hoodie (both Apparel), a mug (Kitchen) and a SKU gone from the catalog."""
    apparel = Category.objects.get(name="Apparel")
    VariantFactory(sku="HOODIE", price_minor=4000, product=ProductFactory(name="Hoodie", category=apparel))
    make_order(
        placed_at=at(10, 9),
        lines=[("TEE-M", 1, 2000), ("HOODIE", 1, 4000), ("MUG", 1, 1250), ("GONE", 1, 500)],
    )

    report = owner_report(date_range=report_range)

    assert [(r.category, r.orders, r.units, r.sales_minor) for r in report.categories] == [
        ("Apparel", 3, 5, 12000),
        ("Kitchen", 2, 3, 3750),
        ("Uncategorised", 1, 1, 500),
    ]


def test_processing_time_percentiles(seeded_shop, report_range):
    """placed→labelled 4, 8, 2 h; labelled→shipped 20, 16, 10 h; shipped→delivered 48, 24 h; placed→delivered
    72, 48 h. percentile_cont interpolates: p90 of (2, 4, 8) = 4 + 0.8 × 4 = 7.2."""
    report = owner_report(date_range=report_range)
    assert [(r.stage, r.orders, r.p50_hours, r.p90_hours) for r in report.processing] == [
        ("placed → labelled", 3, 4.0, 7.2),
        ("labelled → shipped", 3, 16.0, 19.2),
        ("shipped → delivered", 2, 36.0, 45.6),
        ("placed → delivered", 2, 60.0, 69.6),
    ]


def test_delivery_rates_and_failures_by_reason(seeded_shop, report_range):
    """Dispatched in range: delivered at once, delivered after one failure, returned after two, one on its
    way (the February parcel is outside)."""
    report = owner_report(date_range=report_range)
    d = report.delivery
    assert (d.dispatched, d.ended, d.delivered, d.delivered_first_attempt, d.returned_to_sender, d.on_the_way) == (
        4,
        3,
        2,
        1,
        1,
        1,
    )
    assert (d.delivery_rate_percent, d.first_attempt_rate_percent) == (66.7, 33.3)
    assert report.failures_by_reason == [
        {"reason": "Nobody home", "attempts": 2},
        {"reason": "Address not found", "attempts": 1},
    ]


def test_returns_and_refund_rate(seeded_shop, report_range):
    report = owner_report(date_range=report_range)
    assert report.returns == {
        "requested": 1,
        "approved": 0,
        "rejected": 0,
        "received": 0,
        "awaiting_stock": 0,
        "refunded": 1,
        "exchanged": 0,
    }
    assert (report.returns_requested, report.orders_sold, report.return_rate_percent) == (2, 3, 66.7)


def test_csat_per_week_with_comments(seeded_shop, report_range):
    report = owner_report(date_range=report_range, period="week")
    assert report.csat == [
        {"period": dt.date(2026, 3, 2), "responses": 2, "satisfied": 1, "csat_percent": 50.0, "average": 4.0},
        {"period": dt.date(2026, 3, 9), "responses": 1, "satisfied": 1, "csat_percent": 100.0, "average": 4.0},
    ]
    assert [(c["order_number"], c["rating"], c["comment"]) for c in report.comments] == [
        ("FM-FB3", 4, "Fast"),
        ("FM-FB1", 5, "Great"),
    ]
    assert (report.csat_responses, report.csat_percent) == (3, 66.7)


def test_stock_alerts_dead_letters_and_orders_needing_attention(seeded_shop, report_range):
    report = owner_report(date_range=report_range)
    assert report.stock_alert_count == 1
    assert report.stock_alerts == [
        {
            "sku": "TEE-M",
            "product": "Tee",
            "warehouse": "east",
            "on_hand": 3,
            "reserved": 0,
            "available": 3,
            "threshold": 5,
        }
    ]
    assert report.dead_letters == {"dead_deliveries": 0, "dead_commands": 0}
    assert report.attention_count == 1
    assert [o["failure_code"] for o in report.attention] == ["settle_failed"]


def test_the_number_of_queries_does_not_grow_with_the_orders(seeded_shop, more_orders, report_range):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            owner_report(date_range=report_range, period="day").tables()
        return len(ctx.captured_queries)

    before = queries()
    more_orders()
    assert owner_report(date_range=report_range).totals[0].orders == 8
    assert queries() == before == 15
