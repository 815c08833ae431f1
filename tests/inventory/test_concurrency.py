"""No oversell and no deadlock under real concurrent database connections."""

import random

import pytest

from flowmart.events.models import OutboxEvent
from inventory import selectors, services
from inventory.models import Stock
from inventory.services import InsufficientStock, StockLine
from tests.threads import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_buyers_race_for_the_last_ten_units(stock_up):
    stock_up("LAST-10", east=6, west=4)

    results = run_in_threads(
        50, lambda i: services.stock_reserve(reference=f"FM-RACE-{i:02d}", lines=[StockLine("LAST-10", 1)])
    )

    successes = [r for r in results if isinstance(r, services.Reservation)]
    refusals = [r for r in results if isinstance(r, InsufficientStock)]
    assert len(successes) == 10
    assert len(refusals) == 40
    assert all(r.shortages == [{"sku": "LAST-10", "requested": 1, "available": 0}] for r in refusals)
    rows = list(Stock.objects.filter(variant__sku="LAST-10").values_list("on_hand", "reserved"))
    assert sorted(rows) == [(4, 4), (6, 6)]
    assert selectors.available_quantity(sku="LAST-10") == 0
    assert selectors.stock_ledger_mismatches() == []
    assert OutboxEvent.objects.filter(name="InventoryReserved").count() == 10
    assert OutboxEvent.objects.filter(name="OutOfStock").count() == 1


def test_overlapping_multi_line_reservations_in_different_orders_do_not_deadlock(stock_up):
    skus = ["OVL-A", "OVL-B", "OVL-C", "OVL-D"]
    for sku in skus:
        stock_up(sku, east=20, central=20)

    def reserve(i):
        rng = random.Random(i)
        lines = [StockLine(sku, rng.randint(1, 3)) for sku in rng.sample(skus, k=3)]
        reservation = services.stock_reserve(reference=f"FM-OVL-{i:02d}", lines=lines)
        if i % 3 == 0:
            services.stock_release(reference=reservation.reference, reason="test")
        elif i % 3 == 1:
            services.stock_commit(reference=reservation.reference)
        return reservation

    results = run_in_threads(30, reserve)

    errors = [r for r in results if isinstance(r, Exception) and not isinstance(r, InsufficientStock)]
    assert errors == []
    assert selectors.stock_ledger_mismatches() == []
    assert not Stock.objects.filter(on_hand__lt=0).exists()
    assert not Stock.objects.filter(reserved__lt=0).exists()


def test_same_reference_twice_at_once_reserves_once(stock_up):
    stock_up("DUP", east=10)

    results = run_in_threads(8, lambda i: services.stock_reserve(reference="FM-DUP", lines=[StockLine("DUP", 3)]))

    assert all(isinstance(r, services.Reservation) for r in results), results
    assert selectors.available_quantity(sku="DUP") == 7
    assert selectors.stock_ledger_mismatches() == []


def test_reserve_and_release_of_one_reference_racing_do_not_deadlock(stock_up):
    stock_up("RACE-REF", east=50)
    for i in range(10):
        services.stock_reserve(reference=f"FM-RR-{i}", lines=[StockLine("RACE-REF", 2)])

    def act(i):
        ref = f"FM-RR-{i // 2}"
        if i % 2:
            return services.stock_release(reference=ref, reason="test")
        return services.stock_reserve(reference=ref, lines=[StockLine("RACE-REF", 3)])

    results = run_in_threads(20, act)

    assert [r for r in results if isinstance(r, Exception)] == []
    assert selectors.stock_ledger_mismatches() == []
