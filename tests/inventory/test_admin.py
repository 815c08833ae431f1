"""Staff screens: every inventory admin page opens; adjustments, transfers and CSV go through the services."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from inventory import selectors
from inventory.models import Product, Stock, StockMovement
from tests.inventory.factories import ProductFactory, VariantFactory


@pytest.fixture
def staff_browser(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


def test_every_inventory_admin_page_opens(staff_browser, stock_up):
    variant = stock_up("TEE-M", east=1, threshold=3)
    stock = Stock.objects.get(variant=variant)
    pages = [
        "/admin/inventory/product/",
        f"/admin/inventory/product/{variant.product_id}/change/",
        "/admin/inventory/product/add/",
        "/admin/inventory/category/",
        "/admin/inventory/warehouse/",
        "/admin/inventory/stock/",
        f"/admin/inventory/stock/{stock.pk}/change/",
        "/admin/inventory/stock/adjust/",
        "/admin/inventory/stock/transfer/",
        "/admin/inventory/stock/import-csv/",
        "/admin/inventory/lowstockitem/",
        "/admin/inventory/stockmovement/",
        "/admin/inventory/reservation/",
    ]
    for url in pages:
        assert staff_browser.get(url).status_code == 200, url
    assert "TEE-M" in staff_browser.get("/admin/inventory/lowstockitem/").content.decode()


def test_adjustment_form_records_reason_and_author(staff_browser, staff_user, stock_up):
    stock_up("TEE-M", east=5)
    response = staff_browser.post(
        "/admin/inventory/stock/adjust/",
        {"sku": "TEE-M", "warehouse": "east", "quantity": "-2", "reason": "adjustment", "note": "dropped"},
    )
    assert response.status_code == 302
    movement = StockMovement.objects.get(reason="adjustment")
    assert (movement.quantity, movement.note, movement.created_by) == (-2, "dropped", staff_user)


def test_adjustment_form_shows_service_errors(staff_browser, stock_up):
    stock_up("TEE-M", east=5)
    response = staff_browser.post(
        "/admin/inventory/stock/adjust/",
        {"sku": "TEE-M", "warehouse": "east", "quantity": "-9", "reason": "adjustment"},
    )
    assert response.status_code == 200
    assert "Not enough stock for TEE-M" in response.content.decode()
    assert selectors.available_quantity(sku="TEE-M") == 5


def test_transfer_form(staff_browser, stock_up):
    stock_up("TEE-M", east=5, west=0)
    response = staff_browser.post(
        "/admin/inventory/stock/transfer/",
        {"sku": "TEE-M", "from_warehouse": "east", "to_warehouse": "west", "quantity": "3", "note": "rebalance"},
    )
    assert response.status_code == 302
    levels = {lvl.warehouse_code: lvl.on_hand for lvl in selectors.stock_levels_for_sku(sku="TEE-M")}
    assert levels == {"east": 2, "west": 3}


def test_ledger_is_read_only(staff_browser, stock_up):
    stock_up("TEE-M", east=5)
    movement = StockMovement.objects.get()
    assert staff_browser.get("/admin/inventory/stockmovement/add/").status_code == 403
    assert (
        staff_browser.post(f"/admin/inventory/stockmovement/{movement.pk}/delete/", {"post": "yes"}).status_code == 403
    )


def test_csv_import_in_admin_shows_line_errors(staff_browser, db):
    upload = SimpleUploadedFile("stock.csv", b"sku,warehouse,on_hand\nNOPE,east,3\n", content_type="text/csv")
    response = staff_browser.post("/admin/inventory/stock/import-csv/", {"file": upload})
    assert "line 2: unknown SKU" in response.content.decode()


def test_csv_export_in_admin(staff_browser, stock_up):
    stock_up("TEE-M", east=5)
    response = staff_browser.get("/admin/inventory/stock/export-csv/")
    assert response["Content-Type"].startswith("text/csv")
    assert "TEE-M,east,5" in response.content.decode()


def test_editing_a_price_in_admin_shows_on_the_next_page_view(staff_browser, stock_up):
    product = ProductFactory(name="Desk Lamp", slug="desk-lamp")
    variant = VariantFactory(product=product, sku="LAMP-1", price_minor=3000)
    stock_up("LAMP-1", east=5)
    assert "$30.00" in Client().get("/products/desk-lamp/").content.decode()
    data = {
        "name": "Desk Lamp",
        "slug": "desk-lamp",
        "description": "",
        "category": product.category_id,
        "attributes": "{}",
        "is_active": "on",
        "variants-TOTAL_FORMS": "1",
        "variants-INITIAL_FORMS": "1",
        "variants-0-id": variant.pk,
        "variants-0-product": product.pk,
        "variants-0-sku": "LAMP-1",
        "variants-0-name": "Default",
        "variants-0-options": "{}",
        "variants-0-price_minor": "2500",
        "variants-0-currency": "USD",
        "variants-0-weight_grams": "250",
        "variants-0-is_active": "on",
        "variants-0-position": "0",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
    }
    response = staff_browser.post(f"/admin/inventory/product/{product.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Product.objects.get(pk=product.pk).variants.get().price_minor == 2500
    assert "$25.00" in Client().get("/products/desk-lamp/").content.decode()
