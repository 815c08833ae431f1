"""Back in stock: ask (API, storefront), confirm by email, told once on the preferred channel, first asked first told."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction
from rest_framework.test import APIClient

from flowmart.events.models import Delivery, OutboxEvent
from flowmart.events.testing import deliver_pending
from inventory import services as inventory_services
from inventory.events import BackInStock
from notifications import back_in_stock
from notifications.models import BackInStockRequest, Notification, SandboxMessage
from notifications.testing import send_queued_notifications
from tests.inventory.factories import ProductFactory, VariantFactory, WarehouseFactory
from tests.notifications.factories import DeviceFactory
from tests.users.factories import UserFactory

HANDLER = "notifications.handlers.tell_waiting_customers_back_in_stock"


@pytest.fixture
def sold_out(db):
    """MUG-BLK: a sold-out mug (received and sold), in one warehouse."""
    WarehouseFactory(code="east", name="East", priority=10)
    VariantFactory(sku="MUG-BLK", name="Black", product=ProductFactory(name="Mug", slug="mug"))
    inventory_services.stock_receive(sku="MUG-BLK", warehouse_code="east", quantity=1, reference="initial")
    inventory_services.stock_adjust(sku="MUG-BLK", warehouse_code="east", quantity=-1, note="sold")
    deliver_pending()
    return "MUG-BLK"


def restock(sku: str, quantity: int) -> None:
    inventory_services.stock_receive(sku=sku, warehouse_code="east", quantity=quantity)
    deliver_pending()
    send_queued_notifications()


def sell_out(sku: str) -> None:
    from inventory.selectors import available_quantity

    inventory_services.stock_adjust(sku=sku, warehouse_code="east", quantity=-available_quantity(sku=sku))
    deliver_pending()


def client_for(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def ask(user, sku="MUG-BLK"):
    return client_for(user).post("/api/v1/back-in-stock-requests/", {"sku": sku}, format="json")


@pytest.mark.django_db
def test_signed_in_customer_is_told_once_by_email(customer, customer_client, sold_out):
    r = customer_client.post("/api/v1/back-in-stock-requests/", {"sku": "MUG-BLK"}, format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["state"] == "waiting"
    assert r.json()["email"] == customer.email

    restock("MUG-BLK", 3)
    sell_out("MUG-BLK")
    restock("MUG-BLK", 3)  # back again: the request is done, nobody is told twice

    assert [(m.to, m.subject) for m in mail.outbox] == [([customer.email], "Back in stock: Mug (Black)")]
    assert f"{settings.SITE_URL}/products/mug/" in mail.outbox[0].body
    listed = customer_client.get("/api/v1/back-in-stock-requests/").json()
    assert [(x["sku"], x["state"], x["channel"]) for x in listed] == [("MUG-BLK", "notified", "email")]


@pytest.mark.django_db
def test_the_preferred_channel_is_push_when_the_customer_has_the_app(customer, customer_client, sold_out):
    DeviceFactory(user=customer)
    customer_client.post("/api/v1/back-in-stock-requests/", {"sku": "MUG-BLK"}, format="json")

    restock("MUG-BLK", 1)

    assert mail.outbox == []
    push = SandboxMessage.objects.get(channel="push")
    assert push.title == "Back in stock: Mug (Black)"
    assert Notification.objects.filter(kind="back_in_stock").count() == 1


@pytest.mark.django_db
def test_a_customer_who_turned_push_off_gets_email(customer, customer_client, sold_out):
    DeviceFactory(user=customer)
    customer_client.put("/api/v1/notification-preferences/", {"back_in_stock": {"push": False}}, format="json")
    customer_client.post("/api/v1/back-in-stock-requests/", {"sku": "MUG-BLK"}, format="json")

    restock("MUG-BLK", 1)

    assert [m.subject for m in mail.outbox] == ["Back in stock: Mug (Black)"]
    assert not SandboxMessage.objects.filter(channel="push").exists()


@pytest.mark.django_db
def test_guest_confirms_by_link_and_unconfirmed_requests_are_never_told(api_client, client, sold_out):
    r = api_client.post(
        "/api/v1/back-in-stock-requests/", {"sku": "MUG-BLK", "email": "Guest@Example.com"}, format="json"
    )
    assert r.status_code == 201
    assert r.json()["state"] == "unconfirmed"
    api_client.post("/api/v1/back-in-stock-requests/", {"sku": "MUG-BLK", "email": "lazy@example.com"}, format="json")
    send_queued_notifications()
    confirm_mail = next(m for m in mail.outbox if m.to == ["guest@example.com"])
    assert confirm_mail.subject == "Confirm: tell me when Mug (Black) is back"
    link = re.search(r"https?://\S+/notifications/back-in-stock/confirm/\S+/", confirm_mail.body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    mail.outbox.clear()

    page = client.get("/" + path)  # a mail scanner following the link confirms nothing
    assert "Email <strong>guest@example.com</strong> once when" in page.content.decode()
    assert BackInStockRequest.objects.get(email="guest@example.com").confirmed_at is None
    confirmed = client.post("/" + path)
    assert "Confirmed." in confirmed.content.decode()

    restock("MUG-BLK", 5)

    assert [(m.to, m.subject) for m in mail.outbox] == [(["guest@example.com"], "Back in stock: Mug (Black)")]
    assert BackInStockRequest.objects.get(email="lazy@example.com").notified_at is None


@pytest.mark.django_db
def test_confirming_after_it_came_back_tells_at_once(api_client, client, sold_out):
    api_client.post("/api/v1/back-in-stock-requests/", {"sku": "MUG-BLK", "email": "late@example.com"}, format="json")
    request = BackInStockRequest.objects.get()
    restock("MUG-BLK", 2)  # nobody confirmed yet: nobody told
    assert BackInStockRequest.objects.get().notified_at is None
    mail.outbox.clear()

    from notifications.links import back_in_stock_confirm_url

    path = back_in_stock_confirm_url(request_id=request.pk).split("://", 1)[1].split("/", 1)[1]
    page = client.post("/" + path)
    send_queued_notifications()

    assert "Good news" in page.content.decode()
    assert [m.subject for m in mail.outbox] == ["Back in stock: Mug (Black)"]
    assert BackInStockRequest.objects.get().state == "notified"


@pytest.mark.django_db
def test_bad_requests_are_problems_not_500s(api_client, customer_client, client, sold_out):
    def post(c, body):
        r = c.post("/api/v1/back-in-stock-requests/", body, format="json")
        return r.status_code, r.json()["code"]

    assert post(api_client, {"sku": "MUG-BLK"}) == (400, "back_in_stock_invalid")
    assert post(api_client, {"sku": "MUG-BLK", "email": "not-an-email"}) == (400, "invalid")
    assert post(customer_client, {"sku": "NOPE"}) == (400, "unknown_sku")
    assert post(customer_client, {"sku": "x" * 500}) == (400, "invalid")
    restock("MUG-BLK", 1)
    assert post(customer_client, {"sku": "MUG-BLK"}) == (409, "sku_in_stock")
    assert client.get("/notifications/back-in-stock/confirm/forged/").status_code == 404
    assert api_client.get("/api/v1/back-in-stock-requests/").status_code == 401


@pytest.mark.django_db
def test_asking_twice_keeps_the_first_place(customer, other_customer, sold_out):
    ask(customer)
    ask(other_customer)
    again = ask(customer)

    assert again.status_code == 201
    assert [r.user_id for r in back_in_stock.BackInStockRequest.objects.order_by("requested_at", "id")] == [
        customer.pk,
        other_customer.pk,
    ]


@pytest.mark.django_db
def test_first_asked_first_told_in_batches_no_larger_than_what_came_back(sold_out):
    users = [UserFactory(email=f"fan{i}@example.com") for i in range(6)]
    for user in users:
        assert ask(user).status_code == 201

    restock("MUG-BLK", 2)
    assert sorted(m.to[0] for m in mail.outbox) == ["fan0@example.com", "fan1@example.com"]
    sell_out("MUG-BLK")
    restock("MUG-BLK", 3)
    sell_out("MUG-BLK")
    restock("MUG-BLK", 10)

    told = [m.to[0] for m in mail.outbox]
    assert told[:2] == sorted(told[:2]) and set(told[:2]) == {"fan0@example.com", "fan1@example.com"}
    assert set(told[2:5]) == {"fan2@example.com", "fan3@example.com", "fan4@example.com"}
    assert told[5:] == ["fan5@example.com"]
    batches = [
        (e.payload["available"], BackInStockRequest.objects.filter(notified_by_event=str(e.event_id)).count())
        for e in OutboxEvent.objects.filter(name="BackInStock").order_by("occurred_at")
    ]
    assert batches == [(1, 0), (2, 2), (3, 3), (10, 1)]  # the first: the fixture's stock, before anyone asked


@pytest.mark.django_db
def test_a_redelivered_event_tells_nobody_again(sold_out):
    users = [UserFactory(email=f"fan{i}@example.com") for i in range(4)]
    for user in users:
        ask(user)
    restock("MUG-BLK", 2)
    row = OutboxEvent.objects.filter(name="BackInStock").latest("occurred_at")
    event = BackInStock.from_record(
        event_id=row.event_id,
        occurred_at=row.occurred_at,
        correlation_id=row.correlation_id,
        causation_id=row.causation_id,
        payload=row.payload,
    )
    assert event.available == 2

    # Redelivered: the outbox row dispatched again finds its inbox row done.
    OutboxEvent.objects.filter(pk=row.pk).update(dispatched_at=None)
    assert deliver_pending() == 0
    # Past the inbox (as if its row were lost, or the handler ran twice): the event's two units are spent.
    Delivery.objects.filter(event=row, handler=HANDLER).update(status=Delivery.Status.PENDING)
    assert deliver_pending() == 1
    with transaction.atomic():
        assert back_in_stock.back_in_stock_fulfil(event=event) == []
    send_queued_notifications()

    assert sorted(m.to[0] for m in mail.outbox) == ["fan0@example.com", "fan1@example.com"]
    assert BackInStockRequest.objects.filter(notified_at__isnull=True).count() == 2


@pytest.mark.django_db
def test_storefront_notify_me_with_htmx_and_without(client, customer, sold_out):
    page = client.get("/products/mug/").content.decode()
    assert 'hx-post="/notifications/back-in-stock/"' in page
    assert '<option value="MUG-BLK">Black</option>' in page

    fragment = client.post(
        "/notifications/back-in-stock/", {"sku": "MUG-BLK", "email": "casey.guest@example.com"}, HTTP_HX_REQUEST="true"
    )
    assert fragment.status_code == 200
    assert "Check <strong>casey.guest@example.com</strong>: confirm there" in fragment.content.decode()

    client.force_login(customer)
    followed = client.post("/notifications/back-in-stock/", {"sku": "MUG-BLK", "next": "/products/mug/"}, follow=True)
    assert followed.redirect_chain == [("/products/mug/", 302)]
    assert "We will tell you once when Mug (Black) is back." in followed.content.decode()

    bad = client.post("/notifications/back-in-stock/", {"sku": ""}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400
    assert "This field is required." in bad.content.decode()
