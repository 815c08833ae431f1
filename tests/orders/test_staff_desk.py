"""Staff roles on orders, in the admin and the staff API: each role logs in (no superuser) and is shown, and
allowed, only what it may do; every action lands in the audit log with who, what, before/after, IP and why."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from flowmart.staff.selectors import audit_log
from orders import services
from orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirmed_order(customer_client, shop, checkout_body):
    customer_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 1}, format="json")
    r = customer_client.post("/api/v1/checkout/", checkout_body(), format="json")
    return Order.objects.get(number=r.json()["number"])


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def change_page(client, order) -> str:
    return client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()


def action_url(order, verb) -> str:
    return f"/admin/orders/order/{order.pk}/staff-action/{verb}/"


# -- admin ----------------------------------------------------------------------------------------


def test_support_sees_and_uses_hold_and_cancel_in_the_admin(staff_member, confirmed_order):
    support = staff_member("Support")
    client = browser(support)

    page = change_page(client, confirmed_order)
    assert ">Put on hold</button>" in page and ">Cancel (compensate)</button>" in page
    assert "Resume / compensate stuck saga" not in page  # Manager's repair tools are not offered

    response = client.post(action_url(confirmed_order, "hold"), {"reason": "count the shelf"}, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 302
    confirmed_order.refresh_from_db()
    assert (confirmed_order.status, confirmed_order.hold_reason) == ("on_hold", "count the shelf")

    entry = audit_log(kind="action").get()
    assert (entry.actor, entry.action, entry.object_type, entry.object_id) == (
        support,
        "orders.order.hold",
        "orders.order",
        str(confirmed_order.pk),
    )
    assert (entry.before["status"], entry.after["status"]) == ("confirmed", "on_hold")
    assert (entry.after["hold_reason"], entry.reason, entry.ip, entry.source, entry.outcome) == (
        "count the shelf",
        "count the shelf",
        "10.1.2.3",
        "admin",
        "done",
    )


def test_warehouse_sees_no_order_button_and_is_refused_when_posting_one(staff_member, confirmed_order):
    client = browser(staff_member("Warehouse"))

    page = change_page(client, confirmed_order)
    assert confirmed_order.number in page
    assert "Put on hold" not in page and "Cancel (compensate)" not in page
    assert "No action is possible in this state for your role." in page

    assert client.post(action_url(confirmed_order, "hold"), {"reason": "x"}).status_code == 403
    assert client.post(action_url(confirmed_order, "cancel"), {}).status_code == 403
    confirmed_order.refresh_from_db()
    assert confirmed_order.status == "confirmed"
    assert audit_log(kind="action").count() == 0


def test_finance_may_not_hold_orders_but_a_manager_may(staff_member, confirmed_order):
    assert browser(staff_member("Finance")).post(action_url(confirmed_order, "hold"), {}).status_code == 403

    manager = browser(staff_member("Manager"))
    assert ">Put on hold</button>" in change_page(manager, confirmed_order)
    manager.post(action_url(confirmed_order, "hold"), {"reason": ""})
    confirmed_order.refresh_from_db()
    assert (confirmed_order.status, confirmed_order.hold_reason) == ("on_hold", "held by staff")


def test_a_refused_action_is_shown_and_logged_as_refused(staff_member, confirmed_order):
    client = browser(staff_member("Support"))
    response = client.post(action_url(confirmed_order, "release_hold"), {}, follow=True)

    assert "Release hold: This order is not on hold." in response.content.decode()
    entry = audit_log(kind="action").get()
    assert (entry.outcome, entry.error_code, entry.error_detail) == (
        "refused",
        "invalid_transition",
        "This order is not on hold.",
    )
    assert entry.before["status"] == entry.after["status"] == "confirmed"


def test_support_cancels_only_before_dispatch(staff_member, confirmed_order):
    Order.objects.filter(pk=confirmed_order.pk).update(status="shipped")
    support = browser(staff_member("Support"))
    page = change_page(support, confirmed_order)
    assert "Cancel (compensate)" not in page and "Cancel after dispatch" not in page
    response = support.post(action_url(confirmed_order, "cancel"), {}, follow=True)
    assert "This order has already been dispatched" in response.content.decode()
    assert Order.objects.get(pk=confirmed_order.pk).status == "shipped"
    assert (
        browser(staff_member("Support", "s2@x.example"))
        .post(action_url(confirmed_order, "cancel_dispatched"), {})
        .status_code
        == 403
    )

    assert ">Cancel after dispatch (compensate)</button>" in change_page(
        browser(staff_member("Manager")), confirmed_order
    )


# -- staff API ------------------------------------------------------------------------------------


def test_customers_get_403_and_strangers_401_on_the_staff_api(customer_client, api_client, confirmed_order):
    for client, status in ((customer_client, 403), (api_client, 401)):
        assert client.get("/api/v1/staff/orders/").status_code == status
        r = client.post(f"/api/v1/staff/orders/{confirmed_order.number}/hold/", {}, format="json")
        assert r.status_code == status
        assert r["Content-Type"] == "application/problem+json"
        # An order that does not exist answers the same: nothing leaks.
        assert client.post("/api/v1/staff/orders/FM-NOSUCH00/hold/", {}, format="json").status_code == status
    confirmed_order.refresh_from_db()
    assert confirmed_order.status == "confirmed"


def test_support_holds_releases_and_cancels_through_the_api(staff_member, confirmed_order, available):
    client = api(staff_member("Support"))
    base = f"/api/v1/staff/orders/{confirmed_order.number}"

    listing = client.get("/api/v1/staff/orders/?status=confirmed").json()
    assert [o["number"] for o in listing["results"]] == [confirmed_order.number]
    assert client.get("/api/v1/staff/orders/?status=cancelled").json()["results"] == []

    held = client.post(f"{base}/hold/", {"reason": "address check", "expected_delay_days": 2}, format="json")
    assert held.status_code == 200
    assert (held.json()["status"], held.json()["hold_reason"]) == ("on_hold", "address check")

    assert client.post(f"{base}/release/", {}, format="json").json()["status"] == "confirmed"
    cancelled = client.post(f"{base}/cancel/", {"reason": "customer phoned"}, format="json")
    assert cancelled.json()["status"] == "cancelled"
    assert available("TEE-M") == 5

    rows = list(
        audit_log(kind="action").order_by("at").values_list("action", "source", "reason", "result__outcome", "ip")
    )
    assert rows == [
        ("orders.order.hold", "api", "address check", "done", "127.0.0.1"),
        ("orders.order.release_hold", "api", "", "done", "127.0.0.1"),
        ("orders.order.cancel", "api", "customer phoned", "done", "127.0.0.1"),
    ]
    assert audit_log(kind="action").get(action="orders.order.hold").data == {"expected_delay_days": 2}


def test_the_api_refuses_a_role_without_the_permission_with_a_problem(staff_member, confirmed_order):
    r = api(staff_member("Warehouse")).post(f"/api/v1/staff/orders/{confirmed_order.number}/hold/", {}, format="json")
    assert r.status_code == 403
    assert r.json()["code"] == "permission_denied"
    assert audit_log(kind="action").count() == 0


def test_staff_get_404_for_an_unknown_order_400_for_bad_input_409_for_a_refusal(staff_member, confirmed_order):
    client = api(staff_member("Support"))
    assert client.post("/api/v1/staff/orders/FM-NOSUCH00/hold/", {}, format="json").status_code == 404
    assert client.get("/api/v1/staff/orders/FM-NOSUCH00/").status_code == 404

    bad = client.post(
        f"/api/v1/staff/orders/{confirmed_order.number}/hold/", {"expected_delay_days": -1}, format="json"
    )
    assert bad.status_code == 400
    assert (bad.json()["code"], list(bad.json()["errors"])) == ("invalid", ["expected_delay_days"])

    refused = client.post(f"/api/v1/staff/orders/{confirmed_order.number}/release/", {}, format="json")
    assert refused.status_code == 409
    assert refused.json()["detail"] == "This order is not on hold."
    assert list(audit_log(kind="action").values_list("result__outcome", "result__error_code")) == [
        ("refused", "invalid_transition")
    ]


# -- order flags: Support clears them after contacting the customer; a refund's flag stays Finance's ------------

CLEAR_FLAG = ">Issue dealt with (clear the flag)</button>"


@pytest.fixture
def flagged_order(confirmed_order):
    """The gateway dropped the order's authorization before capture (the payments webhook's effect)."""
    link = confirmed_order.payments.get()
    services.order_authorization_expired(payment_id=str(link.payment_id), amount_minor=confirmed_order.total_minor)
    confirmed_order.refresh_from_db()
    assert confirmed_order.failure_code == "authorization_expired"
    return confirmed_order


def test_support_clears_an_order_flag_in_the_admin(staff_member, flagged_order):
    support = staff_member("Support")
    client = browser(support)
    assert CLEAR_FLAG in change_page(client, flagged_order)
    assert CLEAR_FLAG in change_page(browser(staff_member("Manager")), flagged_order)

    response = client.post(action_url(flagged_order, "flag_clear"), {"reason": "customer paid again"})

    assert response.status_code == 302
    flagged_order.refresh_from_db()
    assert (flagged_order.failure_code, flagged_order.failure_detail) == ("", "")
    note = flagged_order.notes.get(kind="authorization_issue_resolved")
    assert note.by == support
    assert note.text.endswith(" — customer paid again")


@pytest.mark.parametrize("role", ["Finance", "Warehouse"])
def test_other_roles_get_no_flag_button_and_are_refused_in_the_admin(staff_member, flagged_order, role):
    client = browser(staff_member(role))
    assert CLEAR_FLAG not in change_page(client, flagged_order)
    assert client.post(action_url(flagged_order, "flag_clear"), {"reason": "x"}).status_code == 403
    assert Order.objects.get(pk=flagged_order.pk).failure_code == "authorization_expired"
    assert audit_log(kind="action").count() == 0


def test_support_clears_an_order_flag_through_the_api_other_roles_get_403(staff_member, flagged_order):
    url = f"/api/v1/staff/orders/{flagged_order.number}/clear-flag/"
    for role in ("Finance", "Warehouse"):
        refused = api(staff_member(role)).post(url, {"reason": "x"}, format="json")
        assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    assert Order.objects.get(pk=flagged_order.pk).failure_code == "authorization_expired"

    cleared = api(staff_member("Support")).post(url, {"reason": "customer paid again"}, format="json")

    assert (cleared.status_code, cleared.json()["failure_code"], cleared.json()["failure_detail"]) == (200, "", "")
    again = api(staff_member("Manager")).post(url, {}, format="json")
    assert (again.status_code, again.json()["detail"]) == (
        409,
        "This order has no parcel or payment issue waiting for staff.",
    )


def test_a_refunds_flag_stays_finances(staff_member, confirmed_order):
    Order.objects.filter(pk=confirmed_order.pk).update(failure_code="refund_rejected", failure_detail="refused")
    support = browser(staff_member("Support"))
    page = change_page(support, confirmed_order)
    assert "Refund issue dealt with" not in page and CLEAR_FLAG not in page
    assert support.post(action_url(confirmed_order, "refund_resolved"), {}).status_code == 403
    assert support.post(action_url(confirmed_order, "flag_clear"), {}, follow=True).status_code == 200
    assert Order.objects.get(pk=confirmed_order.pk).failure_code == "refund_rejected"  # the service refused

    assert ">Refund issue dealt with (clear the flag)</button>" in change_page(
        browser(staff_member("Finance")), confirmed_order
    )
