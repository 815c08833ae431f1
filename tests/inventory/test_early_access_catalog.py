"""Members' early access in the catalog: lists, product page and API show a new arrival to whom may buy it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from flowmart.events.models import OutboxEvent
from inventory import services
from tests.inventory.factories import ProductFactory
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def new_arrival(stock_up):
    now = timezone.now()
    product = ProductFactory(
        name="Preview Hoodie",
        slug="preview-hoodie",
        early_access_at=now - timedelta(hours=1),
        on_sale_at=now + timedelta(days=7),
    )
    stock_up("PREVIEW-M", product=product, east=10)
    stock_up("REGULAR-M", product=ProductFactory(name="Regular Tee", slug="regular-tee"), east=10)
    return product


@pytest.fixture
def member(customer):
    SubscriptionFactory(user=customer)  # Plus tier: early access
    client = APIClient()
    client.force_authenticate(customer)
    return client


def _slugs(response) -> list[str]:
    return [p["slug"] for p in response.json()["results"]]


def test_lists_show_a_new_arrival_to_members_only_until_the_public_launch(api_client, member, new_arrival):
    assert _slugs(api_client.get("/api/v1/products/")) == ["regular-tee"]
    assert _slugs(member.get("/api/v1/products/")) == ["preview-hoodie", "regular-tee"]

    # Nothing invalidates the cached lists at the launch: their key moves with the latest launch passed.
    with time_machine.travel(new_arrival.on_sale_at + timedelta(seconds=1)):
        assert _slugs(api_client.get("/api/v1/products/")) == ["preview-hoodie", "regular-tee"]


def test_a_product_nobody_may_buy_yet_is_in_no_list(api_client, member, new_arrival):
    new_arrival.early_access_at = timezone.now() + timedelta(hours=2)
    new_arrival.save()
    services.product_catalog_changed(product=new_arrival)

    assert _slugs(member.get("/api/v1/products/")) == ["regular-tee"]
    with time_machine.travel(new_arrival.early_access_at + timedelta(seconds=1)):
        assert _slugs(member.get("/api/v1/products/")) == ["preview-hoodie", "regular-tee"]
        assert _slugs(api_client.get("/api/v1/products/")) == ["regular-tee"]


def test_product_api_says_who_may_buy_now(api_client, member, new_arrival):
    public = api_client.get("/api/v1/products/preview-hoodie/").json()
    mine = member.get("/api/v1/products/preview-hoodie/").json()

    on_sale = new_arrival.on_sale_at.isoformat().replace("+00:00", "Z")
    early = new_arrival.early_access_at.isoformat().replace("+00:00", "Z")
    assert public["sale"] == {
        "phase": "members_only",
        "can_buy": False,
        "members_early_access": True,
        "opens_at": on_sale,
        "early_access_at": early,
        "on_sale_at": on_sale,
    }
    assert mine["sale"]["can_buy"] is True
    assert mine["sale"]["opens_at"] == early


def test_product_page_for_a_non_member_explains_and_cannot_add(client, customer, new_arrival):
    client.force_login(customer)

    html = client.get("/products/preview-hoodie/").content.decode()

    assert "Members' early access until" in html
    assert '<button type="submit" disabled>Add to basket</button>' in html


def test_product_page_for_a_member_sells_and_the_list_marks_it(client, customer, new_arrival):
    SubscriptionFactory(user=customer)
    client.force_login(customer)

    html = client.get("/products/preview-hoodie/").content.decode()
    listing = client.get("/products/").content.decode()

    assert "Members' early access: yours now, everyone else's from" in html
    assert '<button type="submit">Add to basket</button>' in html
    assert listing.count('<p class="sale-window">Members\' early access</p>') == 1
    assert "Preview Hoodie" in listing


def test_early_access_is_announced_once_when_it_opens(new_arrival):
    opens = timezone.now() + timedelta(days=1)
    later = ProductFactory(slug="later", early_access_at=opens, on_sale_at=opens + timedelta(days=1))

    assert services.early_access_announce_due() == ["preview-hoodie"]
    assert services.early_access_announce_due() == []  # a second run (or a redelivered beat) announces nothing

    event = OutboxEvent.objects.get(name="EarlyAccessOpened")
    assert event.payload["product_slug"] == "preview-hoodie"
    assert event.payload["skus"] == ["PREVIEW-M"]
    assert event.payload["on_sale_at"] == new_arrival.on_sale_at.isoformat()
    with time_machine.travel(later.early_access_at + timedelta(seconds=1)):
        assert services.early_access_announce_due() == ["later"]


def test_staff_cannot_save_an_early_access_after_the_public_sale(admin_client, new_arrival):
    response = admin_client.get(f"/admin/inventory/product/{new_arrival.pk}/change/")
    assert response.status_code == 200
    assert "Launch and members&#x27; early access" in response.content.decode()

    new_arrival.early_access_at = new_arrival.on_sale_at + timedelta(days=1)
    with pytest.raises(Exception, match="inv_product_early_access_before_public_sale"):
        new_arrival.full_clean()
