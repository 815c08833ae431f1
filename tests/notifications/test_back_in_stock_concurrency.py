"""Back in stock under real concurrency (threads, each on its own PostgreSQL connection)."""

from __future__ import annotations

import pytest

from flowmart.events import dispatcher
from flowmart.events.models import Delivery, OutboxEvent
from flowmart.events.testing import deliver_pending
from inventory import services as inventory_services
from inventory.selectors import available_quantity, stock_levels_for_sku
from notifications import back_in_stock
from notifications.models import BackInStockRequest, Notification
from tests.inventory.factories import ProductFactory, VariantFactory, WarehouseFactory
from tests.threads import run_in_threads
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
HANDLER = "notifications.handlers.tell_waiting_customers_back_in_stock"


@pytest.fixture
def sold_out_mug():
    for code, priority in (("east", 10), ("west", 20)):
        WarehouseFactory(code=code, name=code, priority=priority)
    VariantFactory(sku="MUG", product=ProductFactory(name="Mug", slug="mug"))
    return "MUG"


def _sell_out(sku):
    for level in stock_levels_for_sku(sku=sku):
        if level.available:
            inventory_services.stock_adjust(
                sku=sku, warehouse_code=level.warehouse_code, quantity=-level.available, note="sold"
            )


def test_concurrent_requests_and_restocks_tell_first_asked_first_in_batches_within_what_came_back(sold_out_mug):
    users = [UserFactory(email=f"fan{i:02d}@example.com") for i in range(24)]

    # 24 customers ask at once: each gets one place in the queue.
    asked = run_in_threads(24, lambda i: back_in_stock.back_in_stock_request(sku="MUG", user=users[i]))
    assert all(isinstance(r, BackInStockRequest) for r in asked), asked
    queue = list(BackInStockRequest.objects.order_by("requested_at", "id").values_list("user_id", flat=True))
    assert sorted(queue) == sorted(u.pk for u in users)

    # Three rounds: restocks land in two warehouses at once, then their events are handled at once too.
    for round_ in range(3):
        run_in_threads(
            2,
            lambda i, r=round_: inventory_services.stock_receive(
                sku="MUG", warehouse_code=("east", "west")[i], quantity=2 + i, reference=f"po-{r}-{i}"
            ),
        )
        for row in OutboxEvent.objects.filter(dispatched_at__isnull=True).order_by("created_at"):
            dispatcher.event_dispatch(event_id=row.event_id)
        pending = list(Delivery.objects.filter(handler=HANDLER, status="pending").values_list("id", flat=True))
        # Each delivery runs twice at once (a duplicated task): the inbox and the SKU lock keep it single.
        run_in_threads(2 * len(pending), lambda i, p=pending: dispatcher.delivery_run(delivery_id=p[i // 2]))
        deliver_pending()
        _sell_out("MUG")
        deliver_pending()

    events = list(OutboxEvent.objects.filter(name="BackInStock").order_by("occurred_at"))
    batches = [
        (e.payload["available"], BackInStockRequest.objects.filter(notified_by_event=str(e.event_id)).count())
        for e in events
    ]
    assert all(told <= available for available, told in batches), batches
    told_total = sum(told for _, told in batches)
    assert told_total == min(24, sum(available for available, _ in batches))
    # First asked, first told: the told requests are exactly the head of the queue.
    told_users = set(BackInStockRequest.objects.filter(notified_at__isnull=False).values_list("user_id", flat=True))
    assert told_users == set(queue[:told_total])
    # Once: one message per told request, whatever ran twice.
    assert Notification.objects.filter(kind="back_in_stock").count() == told_total
    assert available_quantity(sku="MUG") == 0


def test_a_request_racing_a_restock_is_either_told_or_refused_never_stranded(sold_out_mug):
    for attempt in range(6):
        user = UserFactory(email=f"racer{attempt}@example.com")
        results = run_in_threads(
            2,
            lambda i, u=user, a=attempt: (
                back_in_stock.back_in_stock_request(sku="MUG", user=u)
                if i == 0
                else inventory_services.stock_receive(sku="MUG", warehouse_code="east", quantity=1, reference=f"r{a}")
            ),
        )
        deliver_pending()
        asked = results[0]
        if isinstance(asked, back_in_stock.SkuInStock):
            assert not BackInStockRequest.objects.filter(user=user).exists()
        else:
            assert isinstance(asked, BackInStockRequest), asked
            assert BackInStockRequest.objects.get(user=user).notified_at is not None  # told by that restock
        _sell_out("MUG")
        deliver_pending()
    assert BackInStockRequest.objects.filter(notified_at__isnull=True).count() == 0
