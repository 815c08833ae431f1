"""Guests are customers too: the signed link to an order, the order lookup, and everything the order page
offers a customer (cancel, track, return), from a browser that did not place the order."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed
from django.core import mail
from django.test import Client
from django.utils import timezone

from flowmart.events.testing import deliver_pending
from notifications.testing import send_queued_notifications
from orders.models import Order
from shipping.models import ReturnRequest, Shipment
from tests.orders.shipping_steps import order_ship
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

GUEST = "guest@example.com"
LINK = re.compile(r"https?://[^/\s]+(/orders/link/[^/\s\"]+/)")


def guest_checkout(api_client, checkout_body) -> Order:
    assert api_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 2}, format="json").status_code == 201
    response = api_client.post("/api/v1/checkout/", checkout_body(email=GUEST), format="json")
    assert response.status_code == 201, response.json()
    deliver_pending()
    send_queued_notifications()
    return Order.objects.get(number=response.json()["number"])


def emailed_link(subject_part: str) -> str:
    [message] = [m for m in mail.outbox if subject_part in m.subject]
    return LINK.search(message.body).group(1)


def test_the_confirmation_email_link_opens_the_order_in_any_browser(api_client, shop, checkout_body):
    order = guest_checkout(api_client, checkout_body)
    link = emailed_link("confirmed")
    stranger = Client()
    assert stranger.get(f"/orders/{order.number}/").status_code == 404

    opened = stranger.get(link)

    assert (opened.status_code, opened["Location"]) == (302, f"/orders/{order.number}/")
    page = stranger.get(f"/orders/{order.number}/")
    assert page.status_code == 200
    assert f"Order {order.number}" in page.content.decode()
    assert "create an account" in page.content.decode()
    # It opens that order only.
    other = guest_checkout(api_client, checkout_body)
    assert stranger.get(f"/orders/{other.number}/").status_code == 404


def test_the_confirmation_page_shows_the_link(client, shop, checkout_body):
    api = client  # the storefront's own session placing the order through the API's session auth
    api.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 1}, content_type="application/json")
    number = api.post("/api/v1/checkout/", checkout_body(email=GUEST), content_type="application/json").json()["number"]

    page = client.get(f"/orders/{number}/confirmation/").content.decode()

    link = LINK.search(page).group(1)
    assert Client().get(link, follow=True).request["PATH_INFO"] == f"/orders/{number}/"


def test_an_expired_or_forged_link_says_so_and_offers_the_lookup(api_client, shop, checkout_body, settings):
    settings.ORDER_LINK_MAX_AGE_DAYS = 90
    order = guest_checkout(api_client, checkout_body)
    link = emailed_link("confirmed")

    with time_machine.travel(timezone.now() + timedelta(days=91)):
        expired = Client().get(link)
    forged = Client().get(link[:-3] + "xx/")

    assert expired.status_code == 400
    assert "has expired" in expired.content.decode()
    assert "Find your order" in expired.content.decode()
    assert forged.status_code == 400
    assert "not valid" in forged.content.decode()
    assert order.number not in forged.content.decode()


def test_the_lookup_emails_the_link_and_answers_the_same_for_a_wrong_number_or_email(api_client, shop, checkout_body):
    order = guest_checkout(api_client, checkout_body)
    mail.outbox.clear()
    browser = Client()

    answers = [
        browser.post("/orders/find/", {"number": order.number, "email": "someone@example.com"}),
        browser.post("/orders/find/", {"number": "FM-NOPE1234", "email": GUEST}),
        browser.post("/orders/find/", {"number": order.number.lower(), "email": GUEST.upper()}),
    ]
    deliver_pending()
    send_queued_notifications()

    texts = [
        re.search(r"<main.*</main>", a.content.decode().replace("someone@example.com", GUEST), re.S).group(0)
        for a in answers
    ]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert texts[0] == texts[1] == texts[2]  # same page whichever was right
    assert "we have just emailed a link" in texts[0]
    assert "/orders/link/" not in texts[2]  # the link is never shown, only emailed
    [message] = mail.outbox
    assert message.to == [GUEST]
    assert Client().get(LINK.search(message.body).group(1), follow=True).status_code == 200


def test_the_lookup_is_rate_limited(shop, settings):
    settings.ACCOUNT_RATE_LIMITS = {"order_lookup": "2/m/ip"}
    browser = Client()
    for _ in range(2):
        assert browser.post("/orders/find/", {"number": "FM-X", "email": GUEST}).status_code == 200

    refused = browser.post("/orders/find/", {"number": "FM-X", "email": GUEST})

    assert refused.status_code == 429
    assert "Too many lookups" in refused.content.decode()


def test_a_guest_cancels_from_the_link(api_client, shop, checkout_body):
    order = guest_checkout(api_client, checkout_body)
    browser = Client()
    browser.get(emailed_link("confirmed"))

    response = browser.post(f"/orders/{order.number}/cancel/", {"reason": "ordered twice"}, follow=True)

    assert f"Order {order.number} is cancelled" in response.content.decode()
    order.refresh_from_db()
    assert order.status == "cancelled"


def test_a_guest_returns_a_delivered_order_from_the_link(api_client, shop, checkout_body):
    order = guest_checkout(api_client, checkout_body)
    shipment_number = order_ship(order)
    Shipment.objects.filter(number=shipment_number).update(status="delivered", delivered_at=timezone.now())
    browser = Client()
    browser.get(emailed_link("confirmed"))
    page = browser.get(f"/orders/{order.number}/").content.decode()
    assert f'href="/returns/new/{order.number}/"' in page

    form = browser.get(f"/returns/new/{order.number}/")
    assert form.status_code == 200  # not the login page
    response = browser.post(f"/returns/new/{order.number}/", {"qty_0": 1, "reason": "too small"}, follow=True)

    assert response.request["PATH_INFO"] == f"/orders/{order.number}/"
    rma = ReturnRequest.objects.get(order_number=order.number)
    assert (rma.user_id, rma.customer_email, rma.reason) == (None, GUEST, "too small")
    assert f"Return {rma.rma_number} requested" in response.content.decode()
    # A browser without the link is still sent to log in, and another customer gets a 404.
    assert Client().get(f"/returns/new/{order.number}/").status_code == 302
    someone = Client()
    someone.force_login(UserFactory(email="someone@example.com"))
    assert someone.get(f"/returns/new/{order.number}/").status_code == 404


def test_track_a_parcel_by_order_number_and_email(api_client, shop, checkout_body):
    order = guest_checkout(api_client, checkout_body)
    order_ship(order)
    tracking_number = Shipment.objects.get(order_number=order.number).tracking_number

    found = Client().post("/tracking/", {"order_number": order.number, "email": GUEST})
    wrong = Client().post("/tracking/", {"order_number": order.number, "email": "someone@example.com"})

    assert found.status_code == 200
    assert f"Parcel <strong>{tracking_number}</strong>" in found.content.decode()
    assert wrong.status_code == 404
    assert tracking_number not in wrong.content.decode()
    assert "could not find a parcel on its way for that order number and email" in wrong.content.decode()


def test_a_guest_who_confirms_an_account_email_gets_their_orders(api_client, shop, checkout_body):
    order = guest_checkout(api_client, checkout_body)
    order_ship(order)
    user = UserFactory(email=GUEST)
    address = EmailAddress.objects.get_or_create(user=user, email=GUEST)[0]
    assert Order.objects.filter(user=user).count() == 0  # signing up alone proves nothing

    email_confirmed.send(sender=EmailAddress, request=None, email_address=address)

    order.refresh_from_db()
    assert order.user == user
    assert set(Shipment.objects.filter(order_number=order.number).values_list("user_id", flat=True)) == {
        str(user.public_id)
    }
    signed_in = Client()
    signed_in.force_login(user)
    assert order.number in signed_in.get("/orders/").content.decode()
