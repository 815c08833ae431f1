"""Staff see the order's flow in the admin and drive transitions with buttons."""

from __future__ import annotations

import pytest
from django.test import Client

from orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirmed_order(customer_client, shop, checkout_body):
    customer_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 1}, format="json")
    r = customer_client.post("/api/v1/checkout/", checkout_body(), format="json")
    return Order.objects.get(number=r.json()["number"])


@pytest.fixture
def staff_browser(staff_user):
    c = Client()
    c.force_login(staff_user)
    return c


def test_order_page_shows_timeline_steps_and_buttons(staff_browser, confirmed_order):
    html = staff_browser.get(f"/admin/orders/order/{confirmed_order.pk}/change/").content.decode()
    assert confirmed_order.number in html
    assert "OrderConfirmed" in html and "InventoryReserved" in html
    assert "authorize_payment" in html and "reserve_stock" in html
    assert "Put on hold" in html and "Cancel (compensate)" in html
    assert "Release hold" not in html


def test_hold_release_and_cancel_buttons(staff_browser, confirmed_order, staff_user, available):
    base = f"/admin/orders/order/{confirmed_order.pk}/staff-action"
    staff_browser.post(f"{base}/hold/", {"reason": "count the shelf"})
    confirmed_order.refresh_from_db()
    assert (confirmed_order.status, confirmed_order.hold_reason) == ("on_hold", "count the shelf")
    listing = staff_browser.get("/admin/orders/orderneedingattention/").content.decode()
    assert confirmed_order.number in listing

    staff_browser.post(f"{base}/release_hold/", {})
    confirmed_order.refresh_from_db()
    assert confirmed_order.status == "confirmed"

    staff_browser.post(f"{base}/cancel/", {"reason": "fraud check failed"})
    confirmed_order.refresh_from_db()
    assert confirmed_order.status == "cancelled"
    last = confirmed_order.transitions.last()
    assert (last.actor, last.by, last.reason) == ("staff", staff_user, "fraud check failed")
    assert available("TEE-M") == 5


def test_list_filters_by_status(staff_browser, confirmed_order):
    html = staff_browser.get("/admin/orders/order/?status__exact=confirmed").content.decode()
    assert confirmed_order.number in html
    html = staff_browser.get("/admin/orders/order/?status__exact=cancelled").content.decode()
    assert confirmed_order.number not in html


def test_stuck_saga_is_listed_and_resumed_with_a_button(
    staff_browser, customer_client, shop, checkout_body, monkeypatch
):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from orders import saga

    customer_client.post("/api/v1/basket/lines/", {"sku": "MUG", "quantity": 1}, format="json")
    monkeypatch.setattr(saga, "_step_authorize", lambda order: (_ for _ in ()).throw(RuntimeError("killed")))
    assert customer_client.post("/api/v1/checkout/", checkout_body(), format="json").status_code == 500
    monkeypatch.undo()
    order = Order.objects.get()

    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        listing = staff_browser.get("/admin/orders/orderneedingattention/").content.decode()
        assert order.number in listing
        page = staff_browser.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
        assert "Resume / compensate stuck saga" in page
        staff_browser.post(f"/admin/orders/order/{order.pk}/staff-action/resume_saga/", {})

    order.refresh_from_db()
    assert (order.status, order.saga_status) == ("confirmed", "completed")
