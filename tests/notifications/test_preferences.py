"""The preference centre: per category and channel; essentials always emailed; marketing opt-in."""

from __future__ import annotations

from django.core import mail

from notifications.models import Notification
from tests.notifications import events

DEFAULTS = {
    "order_updates": {"email": True, "sms": False, "push": True},
    "shipping_updates": {"email": True, "sms": True, "push": True},
    "billing": {"email": True, "sms": False, "push": True},
    "marketing": {"email": False, "sms": False, "push": False},
    "back_in_stock": {"email": True, "sms": False, "push": True},
    "new_arrivals": {"email": False, "sms": False, "push": False},
}


def test_defaults_with_marketing_opt_in(customer_client):
    response = customer_client.get("/api/v1/notification-preferences/")

    assert response.status_code == 200
    assert response.json() == DEFAULTS


def test_put_changes_only_what_is_sent(customer_client):
    response = customer_client.put(
        "/api/v1/notification-preferences/",
        {"order_updates": {"email": False}, "marketing": {"email": True, "push": True}},
        format="json",
    )

    assert response.status_code == 200
    expected = {
        **DEFAULTS,
        "order_updates": {"email": False, "sms": False, "push": True},
        "marketing": {"email": True, "sms": False, "push": True},
    }
    assert response.json() == expected
    assert customer_client.get("/api/v1/notification-preferences/").json() == expected


def test_bad_preferences_are_a_problem_not_a_500(customer_client):
    response = customer_client.put(
        "/api/v1/notification-preferences/", {"billing": {"email": "perhaps"}}, format="json"
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == {"billing.email": ["Must be a valid boolean."]}


def test_preferences_need_a_login(api_client):
    assert api_client.get("/api/v1/notification-preferences/").status_code == 401


def test_opted_out_category_is_suppressed_and_recorded(customer, customer_client, deliver):
    customer_client.put("/api/v1/notification-preferences/", {"order_updates": {"email": False}}, format="json")

    deliver(events.on_hold(customer))

    assert mail.outbox == []
    notification = Notification.objects.get(kind="order_on_hold", channel="email")
    assert notification.status == "suppressed"
    assert [(t.from_state, t.to_state, t.reason) for t in notification.transitions.all()] == [
        ("queued", "suppressed", "recipient opted out of this category")
    ]


def test_essentials_are_emailed_even_when_the_category_is_off(customer, customer_client, deliver):
    customer_client.put(
        "/api/v1/notification-preferences/",
        {"order_updates": {"email": False}, "billing": {"email": False}},
        format="json",
    )

    deliver(events.order_confirmed(customer), events.payment_failed(customer))

    assert sorted(m.subject for m in mail.outbox) == [
        "Order FM-7Q2K9D4X confirmed",
        "Payment for order FM-7Q2K9D4X failed",
    ]


def test_sms_opt_in_sends_order_updates_by_sms(sms_phone_customer, customer_client, deliver):
    from notifications.models import SandboxMessage

    customer_client.put("/api/v1/notification-preferences/", {"order_updates": {"sms": True}}, format="json")

    deliver(events.on_hold(sms_phone_customer))

    # On-hold has no SMS template (email and push only); confirmation does.
    assert not SandboxMessage.objects.filter(channel="sms").exists()
    deliver(events.order_confirmed(sms_phone_customer))
    sms = SandboxMessage.objects.get(channel="sms")
    assert sms.to == "+15555550123"  # the account's number wins over the address's
    assert sms.body == "FlowMart: order FM-7Q2K9D4X is confirmed ($74.97). We'll tell you when it ships."


def test_storefront_preferences_page_saves_checkboxes(client, customer):
    client.force_login(customer)
    page = client.get("/notifications/preferences/")
    assert page.status_code == 200
    assert "Order updates by Email" in page.content.decode()

    response = client.post(
        "/notifications/preferences/",
        {"order_updates__email": "on", "shipping_updates__email": "on", "marketing__email": "on"},
        follow=True,
    )

    assert "Your notification preferences were saved." in response.content.decode()
    from notifications.preferences import preference_matrix

    assert preference_matrix(user=customer) == {
        "order_updates": {"email": True, "sms": False, "push": False},
        "shipping_updates": {"email": True, "sms": False, "push": False},
        "billing": {"email": False, "sms": False, "push": False},
        "marketing": {"email": True, "sms": False, "push": False},
        "back_in_stock": {"email": False, "sms": False, "push": False},
        "new_arrivals": {"email": False, "sms": False, "push": False},
    }


def test_storefront_preferences_page_needs_a_login(client, db):
    response = client.get("/notifications/preferences/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_unknown_categories_and_channels_are_refused(customer_client):
    response = customer_client.put(
        "/api/v1/notification-preferences/",
        {"staff_alerts": {"email": False}, "billing": {"fax": True}},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "billing.fax": ["Not a channel (email, sms, push)."],
    }
    response = customer_client.put(
        "/api/v1/notification-preferences/", {"staff_alerts": {"email": False}}, format="json"
    )
    assert response.json()["errors"] == {
        "staff_alerts": [
            "Not a category you can choose "
            "(order_updates, shipping_updates, billing, marketing, back_in_stock, new_arrivals)."
        ]
    }


def test_storefront_history_shows_own_messages_only(client, customer, other_customer, deliver):
    from tests.notifications.events import signed_up

    deliver(signed_up(customer), signed_up(other_customer))
    client.force_login(customer)

    page = client.get("/notifications/").content.decode()

    assert page.count("Welcome to FlowMart") == 1
    assert "<td>Sent</td>" in page


def test_storefront_history_names_a_message_that_was_not_sent_in_words(client, customer, deliver):
    # A suppressed message is never rendered (no subject or text): the page showed the raw kind key.
    client.force_login(customer)
    client.post("/notifications/preferences/", {"shipping_updates__email": "on"})  # order updates all off

    deliver(events.on_hold(customer))

    page = client.get("/notifications/").content.decode()
    assert "<td>Order on hold</td>" in page
    assert "order_on_hold" not in page
    assert "Not sent (you opted out)" in page
