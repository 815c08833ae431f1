"""The stock services other apps call: reserve, amend, release, commit, return, expiry."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from flowmart.events.models import OutboxEvent
from inventory import selectors, services
from inventory.services import Allocation, InsufficientStock, StockLine


def events(name):
    return [e.payload for e in OutboxEvent.objects.filter(name=name).order_by("occurred_at", "pk")]


def test_one_warehouse_that_can_ship_everything_takes_the_whole_order(stock_up):
    stock_up("TEE-M", east=1, central=5)
    stock_up("MUG", east=3, central=3)

    reservation = services.stock_reserve(reference="FM-1", lines=[StockLine("TEE-M", 2), StockLine("MUG", 1)])

    assert reservation.reference == "FM-1"
    assert sorted(reservation.allocations, key=lambda a: a.sku) == [
        Allocation(sku="MUG", warehouse_code="central", quantity=1),
        Allocation(sku="TEE-M", warehouse_code="central", quantity=2),
    ]
    assert selectors.available_quantity(sku="TEE-M") == 4
    assert selectors.available_quantity(sku="MUG") == 5
    assert selectors.stock_ledger_mismatches() == []


def test_a_line_no_single_warehouse_can_cover_is_split_by_priority(stock_up):
    stock_up("TEE-M", east=2, central=1, west=5)

    reservation = services.stock_reserve(reference="FM-2", lines=[StockLine("TEE-M", 6)])

    assert reservation.allocations == [
        Allocation(sku="TEE-M", warehouse_code="east", quantity=2),
        Allocation(sku="TEE-M", warehouse_code="central", quantity=1),
        Allocation(sku="TEE-M", warehouse_code="west", quantity=3),
    ]
    assert selectors.available_quantity(sku="TEE-M") == 2


def test_all_or_nothing_reports_every_short_line(stock_up):
    stock_up("TEE-M", east=5)
    stock_up("MUG", east=1)

    with pytest.raises(InsufficientStock) as exc:
        services.stock_reserve(
            reference="FM-3", lines=[StockLine("TEE-M", 2), StockLine("MUG", 3), StockLine("NOPE", 1)]
        )

    assert exc.value.code == "insufficient_stock"
    assert exc.value.status == 409
    assert exc.value.shortages == [
        {"sku": "MUG", "requested": 3, "available": 1},
        {"sku": "NOPE", "requested": 1, "available": 0},
    ]
    assert selectors.available_quantity(sku="TEE-M") == 5
    assert selectors.reservation_get(reference="FM-3") is None
    assert events("InventoryReserved") == []


def test_same_reference_returns_the_existing_reservation(stock_up):
    stock_up("TEE-M", east=5)
    first = services.stock_reserve(reference="FM-4", lines=[StockLine("TEE-M", 2)])

    again = services.stock_reserve(reference="FM-4", lines=[StockLine("TEE-M", 2)])

    assert again == first
    assert selectors.available_quantity(sku="TEE-M") == 3
    assert len(events("InventoryReserved")) == 1


def test_reserved_event_carries_lines_and_allocations(stock_up):
    stock_up("TEE-M", east=5)
    with time_machine.travel("2026-03-01 12:00:00Z", tick=False):
        services.stock_reserve(reference="FM-5", lines=[StockLine("TEE-M", 2)], ttl_minutes=15)

    [payload] = events("InventoryReserved")
    assert payload == {
        "reference": "FM-5",
        "expires_at": "2026-03-01T12:15:00+00:00",
        "lines": [{"sku": "TEE-M", "quantity": 2, "allocations": [{"warehouse_code": "east", "quantity": 2}]}],
    }
    assert OutboxEvent.objects.get(name="InventoryReserved").correlation_id == "FM-5"


def test_release_gives_stock_back_and_is_a_no_op_the_second_time(stock_up):
    stock_up("TEE-M", east=5)
    services.stock_reserve(reference="FM-6", lines=[StockLine("TEE-M", 4)])

    services.stock_release(reference="FM-6", reason="payment_failed")
    services.stock_release(reference="FM-6", reason="payment_failed")
    services.stock_release(reference="never-reserved", reason="whatever")

    assert selectors.available_quantity(sku="TEE-M") == 5
    assert selectors.reservation_get(reference="FM-6").state == "released"
    assert events("InventoryReleased") == [
        {
            "reference": "FM-6",
            "reason": "payment_failed",
            "expired": False,
            "lines": [{"sku": "TEE-M", "quantity": 4, "allocations": [{"warehouse_code": "east", "quantity": 4}]}],
        }
    ]
    assert selectors.stock_ledger_mismatches() == []


def test_commit_turns_the_reservation_into_a_sale_once(stock_up):
    stock_up("TEE-M", east=5)
    services.stock_reserve(reference="FM-7", lines=[StockLine("TEE-M", 2)])

    services.stock_commit(reference="FM-7")
    services.stock_commit(reference="FM-7")

    [level] = selectors.stock_levels_for_sku(sku="TEE-M")
    assert (level.on_hand, level.reserved, level.available) == (3, 0, 3)
    assert selectors.reservation_get(reference="FM-7").state == "committed"
    sale = [e for e in events("InventoryAdjusted") if e["reason"] == "sale"]
    assert sale == [
        {
            "sku": "TEE-M",
            "warehouse_code": "east",
            "quantity": -2,
            "reason": "sale",
            "reference": "FM-7",
            "on_hand": 3,
            "available": 3,
            "total_available": 3,
        }
    ]
    assert selectors.stock_ledger_mismatches() == []


def test_commit_of_a_released_reservation_is_refused(stock_up):
    stock_up("TEE-M", east=5)
    services.stock_reserve(reference="FM-8", lines=[StockLine("TEE-M", 2)])
    services.stock_release(reference="FM-8", reason="cancelled")

    with pytest.raises(services.ReservationNotActive):
        services.stock_commit(reference="FM-8")
    with pytest.raises(services.ReservationNotFound):
        services.stock_commit(reference="FM-unknown")


def test_a_released_reference_can_reserve_again(stock_up):
    stock_up("TEE-M", east=5)
    services.stock_reserve(reference="FM-9", lines=[StockLine("TEE-M", 2)])
    services.stock_release(reference="FM-9", reason="payment_failed")

    again = services.stock_reserve(reference="FM-9", lines=[StockLine("TEE-M", 3)])

    assert again.allocations == [Allocation(sku="TEE-M", warehouse_code="east", quantity=3)]
    assert selectors.available_quantity(sku="TEE-M") == 2


def test_amend_replaces_lines_all_or_nothing(stock_up):
    stock_up("TEE-M", east=5)
    stock_up("MUG", central=2)
    services.stock_reserve(reference="FM-10", lines=[StockLine("TEE-M", 4)])

    amended = services.stock_reservation_amend(reference="FM-10", lines=[StockLine("TEE-M", 5), StockLine("MUG", 1)])
    assert sorted(amended.allocations, key=lambda a: a.sku) == [
        Allocation(sku="MUG", warehouse_code="central", quantity=1),
        Allocation(sku="TEE-M", warehouse_code="east", quantity=5),
    ]
    assert selectors.available_quantity(sku="TEE-M") == 0

    with pytest.raises(InsufficientStock):
        services.stock_reservation_amend(reference="FM-10", lines=[StockLine("MUG", 3)])

    assert selectors.available_quantity(sku="TEE-M") == 0
    assert selectors.available_quantity(sku="MUG") == 1
    assert selectors.stock_ledger_mismatches() == []


def test_expired_reservations_are_released_by_the_sweep(stock_up):
    stock_up("TEE-M", east=5)
    with time_machine.travel("2026-03-01 12:00:00Z", tick=False):
        services.stock_reserve(reference="FM-11", lines=[StockLine("TEE-M", 2)], ttl_minutes=30)
        services.stock_reserve(reference="FM-12", lines=[StockLine("TEE-M", 1)], ttl_minutes=60)

    with time_machine.travel("2026-03-01 12:45:00Z", tick=False):
        assert services.stock_reservations_expire() == 1
        assert services.stock_reservations_expire() == 0

    assert selectors.reservation_get(reference="FM-11").state == "expired"
    assert selectors.reservation_get(reference="FM-12").state == "active"
    assert selectors.available_quantity(sku="TEE-M") == 4
    assert [e["expired"] for e in events("InventoryReleased")] == [True]


def test_expiry_task_calls_the_sweep(stock_up):
    from inventory.tasks import reservations_expire_task

    stock_up("TEE-M", east=5)
    services.stock_reserve(reference="FM-13", lines=[StockLine("TEE-M", 2)], ttl_minutes=1)
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        reservations_expire_task()
    assert selectors.available_quantity(sku="TEE-M") == 5


def test_return_restocks_where_it_was_sold_once(stock_up):
    stock_up("TEE-M", east=1, west=5)
    services.stock_reserve(reference="FM-14", lines=[StockLine("TEE-M", 3)])  # west alone can ship it
    services.stock_commit(reference="FM-14")

    services.stock_return(reference="FM-14", lines=[StockLine("TEE-M", 2)])
    services.stock_return(reference="FM-14", lines=[StockLine("TEE-M", 2)])

    levels = {lvl.warehouse_code: lvl.on_hand for lvl in selectors.stock_levels_for_sku(sku="TEE-M")}
    assert levels == {"east": 1, "west": 4}
    assert selectors.stock_ledger_mismatches() == []


def test_return_to_a_named_warehouse(stock_up):
    stock_up("TEE-M", east=1)
    services.stock_return(reference="RMA-1", lines=[StockLine("TEE-M", 1)], warehouse_code="central")
    levels = {lvl.warehouse_code: lvl.on_hand for lvl in selectors.stock_levels_for_sku(sku="TEE-M")}
    assert levels == {"east": 1, "central": 1}


def test_invalid_quantities_are_refused(stock_up):
    stock_up("TEE-M", east=5)
    with pytest.raises(services.InvalidQuantity):
        services.stock_reserve(reference="FM-15", lines=[StockLine("TEE-M", 0)])
    with pytest.raises(services.InvalidQuantity):
        services.stock_reserve(reference="FM-15", lines=[])


def test_variant_selectors_for_other_apps(stock_up):
    from tests.inventory.factories import ProductFactory, ProductImageFactory

    product = ProductFactory(name="Linen Shirt", slug="linen-shirt")
    ProductImageFactory(product=product, url="https://img.flowmart.test/linen.jpg")
    stock_up("LIN-M-BLU", product=product, price_minor=4500, east=3, west=2)
    stock_up("LIN-L-BLU", product=product, price_minor=4700, east=0)

    info = selectors.variant_get_by_sku(sku="LIN-M-BLU")
    assert info == selectors.VariantInfo(
        sku="LIN-M-BLU",
        product_name="Linen Shirt",
        product_slug="linen-shirt",
        variant_name="Default",
        price_minor=4500,
        currency="USD",
        weight_grams=250,
        is_active=True,
        image_url="https://img.flowmart.test/linen.jpg",
    )
    assert selectors.variant_get_by_sku(sku="NOPE") is None
    assert set(selectors.variants_by_sku(skus=["LIN-M-BLU", "LIN-L-BLU", "NOPE"])) == {"LIN-M-BLU", "LIN-L-BLU"}
    assert selectors.available_quantity(sku="LIN-M-BLU") == 5
    assert selectors.available_quantity(sku="LIN-L-BLU") == 0
    assert selectors.available_quantity(sku="NOPE") == 0


def test_expiry_runs_on_the_beat_schedule(settings):
    from inventory.tasks import reservations_expire_task

    entry = settings.CELERY_BEAT_SCHEDULE["inventory-expire-reservations"]
    assert entry["task"] == reservations_expire_task.name
    assert entry["schedule"] == 60.0
