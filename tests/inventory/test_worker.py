"""The expiry sweep through a real Celery worker, as beat would run it."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from inventory import selectors, services
from inventory.services import StockLine
from inventory.tasks import reservations_expire_task


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_releases_expired_reservations(celery_worker, stock_up, wait_until):
    stock_up("TEE-M", east=5)
    with time_machine.travel(timezone.now() - timedelta(hours=1)):
        services.stock_reserve(reference="FM-OLD", lines=[StockLine("TEE-M", 4)], ttl_minutes=30)
    services.stock_reserve(reference="FM-NEW", lines=[StockLine("TEE-M", 1)], ttl_minutes=30)

    reservations_expire_task.delay()

    wait_until(lambda: selectors.reservation_get(reference="FM-OLD").state == "expired", message="expiry")
    assert selectors.reservation_get(reference="FM-NEW").state == "active"
    assert selectors.available_quantity(sku="TEE-M") == 4
