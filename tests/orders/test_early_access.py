"""Members' early access: a non-member cannot buy a new arrival early, by the storefront or the API."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import Product
from orders.models import Order
from tests.subscriptions.factories import SubscriptionFactory
from tests.users.factories import UserFactory


def _members_window(product_name: str, *, opened_hours_ago: int = 1, public_in_days: int = 7) -> Product:
    now = timezone.now()
    product = Product.objects.get(name=product_name)
    product.early_access_at = now - timedelta(hours=opened_hours_ago)
    product.on_sale_at = now + timedelta(days=public_in_days)
    product.save()
    return product


@pytest.mark.django_db
def test_non_member_cannot_add_an_early_access_item_member_can(customer, other_customer, shop):
    product = _members_window("Tee")
    SubscriptionFactory(user=other_customer)  # Plus: early access
    non_member, member = APIClient(), APIClient()
    non_member.force_authenticate(customer)
    member.force_authenticate(other_customer)

    refused = non_member.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 1}, format="json")
    accepted = member.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 1}, format="json")

    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "not_on_sale_yet"
    assert body["skus"] == ["TEE-M"]
    assert body["on_sale_at"] == {"TEE-M": product.on_sale_at.isoformat()}
    assert body["detail"].startswith("Tee is in members' early access: on sale to everyone from ")
    assert accepted.status_code == 201, accepted.json()
    assert [line["sku"] for line in accepted.json()["lines"]] == ["TEE-M"]


@pytest.mark.django_db
def test_guest_is_refused_and_everyone_may_buy_once_the_public_sale_opens(api_client, shop):
    product = _members_window("Tee", public_in_days=2)

    r = api_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 1}, format="json")
    assert (r.status_code, r.json()["code"]) == (409, "not_on_sale_yet")

    with time_machine.travel(product.on_sale_at + timedelta(seconds=1)):
        r = api_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 1}, format="json")
    assert r.status_code == 201, r.json()


@pytest.mark.django_db
def test_before_the_early_access_nobody_may_buy_not_even_members(customer_client, customer, shop):
    SubscriptionFactory(user=customer)
    product = Product.objects.get(name="Tee")
    product.early_access_at = timezone.now() + timedelta(days=1)
    product.on_sale_at = timezone.now() + timedelta(days=8)
    product.save()

    r = customer_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 1}, format="json")

    assert (r.status_code, r.json()["code"]) == (409, "not_on_sale_yet")
    assert r.json()["on_sale_at"] == {"TEE-M": product.early_access_at.isoformat()}  # members' own opening
    assert r.json()["detail"].startswith("Tee goes on sale ")


@pytest.mark.django_db
def test_a_line_added_before_the_window_was_set_is_refused_at_checkout(customer_client, shop, checkout_body):
    customer_client.post("/api/v1/basket/lines/", {"sku": "MUG", "quantity": 1}, format="json")
    customer_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 1}, format="json")
    _members_window("Tee")  # staff put the tee into members' early access afterwards

    basket = customer_client.get("/api/v1/basket/").json()
    r = customer_client.post("/api/v1/checkout/", checkout_body(), format="json")

    assert basket["can_checkout"] is False
    tee = next(line for line in basket["lines"] if line["sku"] == "TEE-M")
    assert tee["problem"].startswith("Tee is in members' early access")
    assert r.status_code == 409
    assert r.json()["code"] == "not_on_sale_yet"
    assert r.json()["skus"] == ["TEE-M"]
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_member_checks_out_an_early_access_item(customer, customer_client, shop, checkout_body, available):
    SubscriptionFactory(user=customer)
    _members_window("Tee")
    customer_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 2}, format="json")

    r = customer_client.post("/api/v1/checkout/", checkout_body(), format="json")

    assert r.status_code == 201, r.json()
    assert r.json()["status"] == "confirmed"
    assert available("TEE-M") == 3


@pytest.mark.django_db
def test_a_lapsed_membership_loses_early_access_at_checkout(customer, customer_client, shop, checkout_body):
    from subscriptions.services import subscription_cancel

    sub = SubscriptionFactory(user=customer)
    _members_window("Tee")
    customer_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 1}, format="json")
    subscription_cancel(subscription=sub)

    r = customer_client.post("/api/v1/checkout/", checkout_body(), format="json")

    assert (r.status_code, r.json()["code"]) == (409, "not_on_sale_yet")
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_storefront_add_to_basket_shows_the_refusal(client, customer, shop):
    _members_window("Tee")
    client.force_login(customer)

    response = client.post("/basket/add/", {"sku": "TEE-M", "quantity": 1}, follow=True)

    assert "Tee is in members&#x27; early access: on sale to everyone from" in response.content.decode()
    assert client.get("/api/v1/basket/").json()["lines"] == []


@pytest.mark.django_db(transaction=True)
def test_members_and_non_members_checking_out_at_once(shop, checkout_body):
    """Twelve customers with the tee in their basket race to check out once it went into members' early access:
    only members get orders (as many as there are units), non-members are refused by name."""
    users = [UserFactory(email=f"racer{i}@example.com") for i in range(12)]
    for user in users[::2]:
        SubscriptionFactory(user=user)
    clients = []
    for user in users:
        c = APIClient()
        c.force_authenticate(user)
        clients.append(c)
    adds = [c.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 1}, format="json") for c in clients]
    assert [a.status_code for a in adds] == [201] * 12
    _members_window("Tee")

    barrier = threading.Barrier(12)
    results: list = [None] * 12

    def checkout(i):
        try:
            barrier.wait(timeout=30)
            r = clients[i].post("/api/v1/checkout/", checkout_body(), format="json")
            results[i] = (r.status_code, r.json().get("code") or r.json().get("status"))
        finally:
            connection.close()

    threads = [threading.Thread(target=checkout, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    members, others = results[::2], results[1::2]
    assert sorted(members) == [(201, "confirmed")] * 5 + [(409, "insufficient_stock")]
    assert others == [(409, "not_on_sale_yet")] * 6
    assert Order.objects.filter(status="confirmed").count() == 5
