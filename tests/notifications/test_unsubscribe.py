"""Every email carries a signed one-click unsubscribe link for its category."""

from __future__ import annotations

import re

from django.core import mail

from notifications.models import EmailOptOut
from notifications.preferences import preference_matrix
from tests.notifications import events


def _link(email) -> str:
    match = re.search(r"Unsubscribe from order updates emails: (http://\S+)", email.body)
    assert match, email.body
    return match.group(1).removeprefix("http://127.0.0.1:8000")


def test_unsubscribe_link_asks_then_turns_the_category_off(customer, deliver, client):
    deliver(events.on_hold(customer))
    path = _link(mail.outbox[0])
    assert mail.outbox[0].extra_headers["List-Unsubscribe"] == f"<http://127.0.0.1:8000{path}>"

    page = client.get(path)
    assert page.status_code == 200
    assert "Stop sending <strong>order updates</strong> emails to <strong>casey@example.com</strong>?" in (
        page.content.decode()
    )
    assert preference_matrix(user=customer)["order_updates"]["email"] is True  # GET changes nothing

    done = client.post(path, {"List-Unsubscribe": "One-Click"})  # what a mail client's one-click sends
    assert done.status_code == 200
    assert "We will no longer send <strong>order updates</strong> emails" in done.content.decode()
    assert preference_matrix(user=customer)["order_updates"]["email"] is False

    mail.outbox.clear()
    deliver(events.cancelled(customer), events.order_confirmed(customer))
    assert [m.subject for m in mail.outbox] == ["Order FM-7Q2K9D4X confirmed"]  # the essential still arrives


def test_guest_unsubscribe_is_remembered_by_address(db, deliver, client):
    deliver(events.order_confirmed(None))
    client.post(_link(mail.outbox[0]))

    assert EmailOptOut.objects.filter(email="guest@example.com", category="order_updates").exists()


def test_tampered_unsubscribe_link_is_refused(customer, deliver, client):
    deliver(events.on_hold(customer))
    path = _link(mail.outbox[0])
    forged = path.replace("/unsubscribe/", "/unsubscribe/x")

    response = client.post(forged)

    assert response.status_code == 404
    assert "This link is not valid" in response.content.decode()
    assert preference_matrix(user=customer)["order_updates"]["email"] is True


def test_staff_can_unsubscribe_from_stock_alerts(staff_user, deliver, client):
    from inventory.events import OutOfStock

    alert = OutOfStock(correlation_id="sku:MUG", sku="MUG", product_name="Mug", product_slug="mug")
    deliver(alert)
    match = re.search(r"Unsubscribe from staff alerts emails: http://127\.0\.0\.1:8000(\S+)", mail.outbox[0].body)
    client.post(match.group(1))
    mail.outbox.clear()

    deliver(OutOfStock(correlation_id="sku:TEE", sku="TEE", product_name="Tee", product_slug="tee"))

    assert mail.outbox == []
