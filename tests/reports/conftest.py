"""A shop with hand-countable history for the reports (figures in tests/reports/test_figures.py's docstrings).

Everything happens in March 2026 (UTC, the test profile's TIME_ZONE); the report range is 2–15 March.
"""

from __future__ import annotations

import datetime as dt
from itertools import count

import pytest

from flowmart.reporting import DateRange
from inventory.models import Stock
from notifications.models import Feedback
from orders.models import Order, OrderLine, OrderStatus, OrderTransition, SagaStatus
from shipping.models import DeliveryFailure, ReturnRequest, Shipment
from tests.inventory.factories import CategoryFactory, ProductFactory, VariantFactory, WarehouseFactory

RANGE = DateRange(since=dt.date(2026, 3, 2), until=dt.date(2026, 3, 15))
_numbers = count(1)


def at(day: int, hour: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=dt.UTC)


def make_order(
    *,
    placed_at,
    status=OrderStatus.COMPLETED,
    lines=(),
    shipping_minor=0,
    refunded_minor=0,
    confirmed=True,
    labelled_at=None,
    shipped_at=None,
    delivered_at=None,
    failure_code="",
    number=None,
) -> Order:
    subtotal = sum(quantity * unit for _sku, quantity, unit in lines)
    total = subtotal + shipping_minor
    order = Order.objects.create(
        number=number or f"FM-T{next(_numbers):07d}",
        email="casey@example.com",
        customer_name="Casey Customer",
        status=status,
        currency="USD",
        subtotal_minor=subtotal,
        shipping_minor=shipping_minor,
        total_minor=total,
        shipping_method="standard",
        authorized_minor=total,
        captured_minor=total if refunded_minor else 0,
        refunded_minor=refunded_minor,
        saga_status=SagaStatus.COMPLETED,
        failure_code=failure_code,
        placed_at=placed_at,
        confirmed_at=placed_at if confirmed else None,
        labelled_at=labelled_at,
        shipped_at=shipped_at,
        delivered_at=delivered_at,
    )
    for sku, quantity, unit in lines:
        OrderLine.objects.create(
            order=order, sku=sku, name=sku, quantity=quantity, unit_price_minor=unit, line_total_minor=quantity * unit
        )
    if labelled_at:
        OrderTransition.objects.create(
            order=order, transition="start_fulfilment", from_state="confirmed", to_state="fulfilling", at=labelled_at
        )
    return order


def make_shipment(*, order_number, status, dispatched_at, failures=()) -> Shipment:
    shipment = Shipment.objects.create(
        order_number=order_number,
        warehouse_code="east",
        address={"name": "Casey", "country": "US"},
        status=status,
        dispatched_at=dispatched_at,
        failed_attempts=len(failures),
    )
    for attempt, (reason, failed_at) in enumerate(failures, start=1):
        DeliveryFailure.objects.create(shipment=shipment, attempt=attempt, reason=reason, failed_at=failed_at)
    return shipment


@pytest.fixture
def report_range() -> DateRange:
    return RANGE


@pytest.fixture
def seeded_shop(db):
    """Orders A, B (2 March), C (9 March) sold; D cancelled, E never confirmed; F before the range."""
    apparel = CategoryFactory(name="Apparel", slug="apparel")
    kitchen = CategoryFactory(name="Kitchen", slug="kitchen")
    tee = VariantFactory(sku="TEE-M", price_minor=2000, product=ProductFactory(name="Tee", category=apparel))
    VariantFactory(sku="MUG", price_minor=1250, product=ProductFactory(name="Mug", category=kitchen))
    east = WarehouseFactory(code="east", name="East", priority=10)
    Stock.objects.create(variant=tee, warehouse=east, on_hand=3, reserved=0, low_stock_threshold=5)

    a = make_order(
        placed_at=at(2, 10),
        lines=[("TEE-M", 2, 2000)],
        shipping_minor=1000,
        labelled_at=at(2, 14),
        shipped_at=at(3, 10),
        delivered_at=at(5, 10),
    )
    b = make_order(
        placed_at=at(2, 12),
        status=OrderStatus.DELIVERED,
        lines=[("MUG", 2, 1250)],
        shipping_minor=750,
        refunded_minor=1250,
        labelled_at=at(2, 20),
        shipped_at=at(3, 12),
        delivered_at=at(4, 12),
    )
    c = make_order(
        placed_at=at(9, 9),
        status=OrderStatus.SHIPPED,
        lines=[("TEE-M", 1, 2000)],
        labelled_at=at(9, 11),
        shipped_at=at(9, 21),
    )
    make_order(placed_at=at(9, 10), status=OrderStatus.CANCELLED, lines=[("TEE-M", 4, 2499)], shipping_minor=3)
    make_order(placed_at=at(10, 8), status=OrderStatus.PAYMENT_FAILED, lines=[("MUG", 1, 1250)], confirmed=False)
    make_order(placed_at=at(1, 10), lines=[("TEE-M", 3, 2000)], shipping_minor=1000, failure_code="settle_failed")

    S = Shipment.Status
    make_shipment(order_number=a.number, status=S.DELIVERED, dispatched_at=at(3, 10))
    make_shipment(
        order_number=b.number, status=S.DELIVERED, dispatched_at=at(3, 12), failures=[("Nobody home", at(3, 18))]
    )
    make_shipment(
        order_number=c.number,
        status=S.RETURNED_TO_SENDER,
        dispatched_at=at(9, 21),
        failures=[("Nobody home", at(10, 15)), ("Address not found", at(11, 15))],
    )
    make_shipment(order_number="FM-ELSEWHERE", status=S.IN_TRANSIT, dispatched_at=at(12, 9))
    make_shipment(order_number="FM-EARLIER", status=S.DELIVERED, dispatched_at=at(20, 9, month=2))

    for created_at, status in [(at(6), "refunded"), (at(7), "requested"), (at(27, month=2), "approved")]:
        ReturnRequest.objects.create(
            order_number=b.number, warehouse_code="east", reason="too small", status=status, created_at=created_at
        )

    for number, rating, comment, submitted_at in [
        ("FM-FB1", 5, "Great", at(2, 18)),
        ("FM-FB2", 3, "", at(3, 18)),
        ("FM-FB3", 4, "Fast", at(10, 18)),
        ("FM-FB4", 1, "Late", at(20, 18)),
    ]:
        Feedback.objects.create(
            order_number=number,
            email="casey@example.com",
            due_at=submitted_at,
            requested_at=submitted_at,
            rating=rating,
            comment=comment,
            submitted_at=submitted_at,
        )
    return {"a": a, "b": b, "c": c}


@pytest.fixture
def more_orders():
    """Five more orders of the same shapes in the range: a report must not need more queries for them."""

    def _more():
        for day in range(2, 7):
            order = make_order(
                placed_at=at(day, 9),
                lines=[("TEE-M", 1, 2000), ("MUG", 1, 1250)],
                labelled_at=at(day, 10),
                shipped_at=at(day, 11),
                delivered_at=at(day, 12),
            )
            make_shipment(order_number=order.number, status=Shipment.Status.DELIVERED, dispatched_at=at(day, 11))

    return _more


@pytest.fixture
def report_viewer(db):
    """Staff (not a superuser) holding only ``reports.view_reports``."""
    from django.contrib.auth.models import Permission

    from tests.users.factories import UserFactory

    user = UserFactory(email="owner@example.com", is_staff=True)
    user.user_permissions.add(Permission.objects.get(content_type__app_label="reports", codename="view_reports"))
    return user


@pytest.fixture
def plain_staff(db):
    from tests.users.factories import UserFactory

    return UserFactory(email="clerk@example.com", is_staff=True)
