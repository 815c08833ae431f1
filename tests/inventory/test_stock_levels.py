"""Adjustments, receipts, transfers, the ledger and the stock-level events."""

import pytest

from flowmart.events.models import OutboxEvent
from flowmart.events.testing import deliver_pending
from inventory import selectors, services
from inventory.models import StockMovement
from inventory.services import InsufficientStock, StockLine


def names():
    return list(OutboxEvent.objects.order_by("occurred_at", "pk").values_list("name", flat=True))


def payloads(name):
    return [e.payload for e in OutboxEvent.objects.filter(name=name).order_by("occurred_at", "pk")]


def test_every_change_is_in_the_ledger_and_figures_equal_its_sum(stock_up, staff_user):
    stock_up("TEE-M", east=10, central=4)
    services.stock_adjust(
        sku="TEE-M", warehouse_code="east", quantity=-3, reason="adjustment", note="damaged", by=staff_user
    )
    services.stock_transfer(
        sku="TEE-M", from_warehouse_code="east", to_warehouse_code="west", quantity=2, by=staff_user
    )
    services.stock_reserve(reference="FM-1", lines=[StockLine("TEE-M", 6)])
    services.stock_commit(reference="FM-1")
    services.stock_adjust(sku="TEE-M", warehouse_code="central", quantity=1, reason="correction")

    levels = {lvl.warehouse_code: (lvl.on_hand, lvl.reserved) for lvl in selectors.stock_levels_for_sku(sku="TEE-M")}
    assert levels == {"east": (0, 0), "central": (4, 0), "west": (2, 0)}
    assert selectors.stock_ledger_mismatches() == []
    ledger = list(
        StockMovement.objects.order_by("id").values_list(
            "stock__warehouse__code", "reason", "quantity", "on_hand_after"
        )
    )
    assert ledger == [
        ("east", "receipt", 10, 10),
        ("central", "receipt", 4, 4),
        ("east", "adjustment", -3, 7),
        ("east", "transfer", -2, 5),
        ("west", "transfer", 2, 2),
        ("east", "sale", -5, 0),
        ("central", "sale", -1, 3),
        ("central", "correction", 1, 4),
    ]
    assert StockMovement.objects.filter(reason="adjustment").get().created_by == staff_user


def test_adjustment_below_reserved_is_refused(stock_up):
    stock_up("TEE-M", east=5)
    services.stock_reserve(reference="FM-2", lines=[StockLine("TEE-M", 4)])

    with pytest.raises(InsufficientStock):
        services.stock_adjust(sku="TEE-M", warehouse_code="east", quantity=-2)

    [level] = selectors.stock_levels_for_sku(sku="TEE-M")
    assert (level.on_hand, level.reserved) == (5, 4)


def test_adjustment_with_a_reference_applies_once(stock_up):
    stock_up("TEE-M", east=5)
    services.stock_receive(sku="TEE-M", warehouse_code="east", quantity=7, reference="PO-77")
    services.stock_receive(sku="TEE-M", warehouse_code="east", quantity=7, reference="PO-77")
    assert selectors.available_quantity(sku="TEE-M") == 12


def test_unknown_sku_and_warehouse_are_clear_errors(stock_up):
    stock_up("TEE-M", east=5)
    with pytest.raises(services.UnknownSku):
        services.stock_adjust(sku="NOPE", warehouse_code="east", quantity=1)
    with pytest.raises(services.UnknownWarehouse):
        services.stock_adjust(sku="TEE-M", warehouse_code="mars", quantity=1)
    with pytest.raises(services.InvalidQuantity):
        services.stock_adjust(sku="TEE-M", warehouse_code="east", quantity=0)


def test_low_out_and_back_in_stock_fire_on_crossing_only(stock_up):
    stock_up("TEE-M", east=5, threshold=2)
    OutboxEvent.objects.all().delete()

    services.stock_reserve(reference="FM-3", lines=[StockLine("TEE-M", 2)])  # 3 left: above threshold
    services.stock_reserve(reference="FM-4", lines=[StockLine("TEE-M", 1)])  # 2 left: crosses
    services.stock_reserve(reference="FM-5", lines=[StockLine("TEE-M", 1)])  # 1 left: already low
    services.stock_reserve(reference="FM-6", lines=[StockLine("TEE-M", 1)])  # 0 left
    services.stock_release(reference="FM-6", reason="cancelled")  # back to 1

    assert [n for n in names() if n in {"LowStock", "OutOfStock", "BackInStock"}] == [
        "LowStock",
        "OutOfStock",
        "BackInStock",
    ]
    assert payloads("LowStock")[0]["available"] == 2
    assert payloads("LowStock")[0]["warehouse_code"] == "east"
    assert payloads("BackInStock")[0]["available"] == 1


def test_cancelled_order_releases_its_stock(stock_up, transactional_db):
    from django.db import transaction

    from flowmart.events.publisher import publish
    from orders.events import OrderCancelled

    stock_up("TEE-M", east=5)
    services.stock_reserve(reference="FM-7", lines=[StockLine("TEE-M", 3)])
    with transaction.atomic():
        publish(
            OrderCancelled(
                correlation_id="FM-7",
                order_number="FM-7",
                user_id=None,
                customer_email="casey@example.com",
                reason="customer asked",
                cancelled_by="customer",
                refunded_minor=0,
                currency="USD",
            )
        )
    deliver_pending()

    assert selectors.available_quantity(sku="TEE-M") == 5
    assert selectors.reservation_get(reference="FM-7").state == "released"
