"""Issue 16 in a real browser: "notify me" on a sold-out product, confirm by email, told once when it is back.

Stock moves through inventory's services and events through ``deliver_pending()`` (no worker runs here).
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from flowmart.events.testing import deliver_pending
from inventory import services as inventory_services
from notifications.models import BackInStockRequest
from notifications.testing import send_queued_notifications
from tests.inventory.factories import ProductFactory, VariantFactory, WarehouseFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sold_out_mug(db):
    WarehouseFactory(code="east", name="East", priority=10)
    product = ProductFactory(name="Enamel Mug", slug="enamel-mug")
    VariantFactory(sku="MUG-BLK", name="Black", price_minor=1250, product=product)
    VariantFactory(sku="MUG-RED", name="Red", price_minor=1250, product=product)
    inventory_services.stock_receive(sku="MUG-RED", warehouse_code="east", quantity=4, reference="initial")
    deliver_pending()


def test_guest_asks_confirms_and_is_told_once_when_it_is_back(page, live_server, sold_out_mug):
    page.goto("/products/enamel-mug/")
    section = page.locator("#back-in-stock")
    expect(section.get_by_role("heading")).to_have_text("Sold out? We'll tell you when it's back")
    expect(section.locator("select option")).to_have_text(["Black"])  # only the sold-out option
    section.get_by_label("Email").fill("jo@example.com")
    section.get_by_role("button", name="Notify me").click()

    # htmx swapped the answer in place: no page load, the product page is still there.
    expect(page.locator("#back-in-stock")).to_contain_text("Check jo@example.com: confirm there")
    expect(page.get_by_role("heading", level=1)).to_have_text("Enamel Mug")

    send_queued_notifications()
    (confirmation,) = mail.outbox
    assert confirmation.subject == "Confirm: tell me when Enamel Mug (Black) is back"
    link = re.search(r"https?://\S+/notifications/back-in-stock/confirm/\S+/", confirmation.body).group(0)
    page.goto(live_server.url + "/" + link.split("://", 1)[1].split("/", 1)[1])
    page.get_by_role("button", name="Confirm the alert").click()
    expect(page.locator("main")).to_contain_text("Confirmed. We will email jo@example.com once when")
    mail.outbox.clear()

    inventory_services.stock_receive(sku="MUG-BLK", warehouse_code="east", quantity=2, reference="po-1")
    deliver_pending()
    send_queued_notifications()
    inventory_services.stock_adjust(sku="MUG-BLK", warehouse_code="east", quantity=-2, note="sold")
    inventory_services.stock_receive(sku="MUG-BLK", warehouse_code="east", quantity=2, reference="po-2")
    deliver_pending()
    send_queued_notifications()

    assert [(m.to, m.subject) for m in mail.outbox] == [(["jo@example.com"], "Back in stock: Enamel Mug (Black)")]
    assert BackInStockRequest.objects.get().state == "notified"
    page.goto("/products/enamel-mug/")
    expect(page.locator("#back-in-stock")).to_have_count(0)  # nothing sold out any more
