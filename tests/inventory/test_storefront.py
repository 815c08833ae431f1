"""Storefront pages: home, catalog lists with filters, search, category and product pages."""

import pytest
from django.test import Client

from inventory import services
from tests.inventory.factories import CategoryFactory, ProductFactory


@pytest.fixture
def shop(stock_up):
    clothing = CategoryFactory(name="Clothing", slug="clothing")
    kitchen = CategoryFactory(name="Kitchen", slug="kitchen")
    hoodie = ProductFactory(name="Organic Cotton Hoodie", slug="organic-cotton-hoodie", category=clothing)
    stock_up("HOOD-M", product=hoodie, price_minor=5900, east=3)
    stock_up("HOOD-L", product=hoodie, price_minor=6100, east=0)
    mug = ProductFactory(name="Stoneware Mug", slug="stoneware-mug", category=kitchen, description="For coffee.")
    stock_up("MUG-1", product=mug, price_minor=1500, central=40)
    return {"hoodie": hoodie, "mug": mug}


@pytest.fixture
def client():
    return Client()


def test_home_shows_categories_and_new_products(client, shop):
    html = client.get("/").content.decode()
    assert "Clothing" in html and "Kitchen" in html
    assert "Stoneware Mug" in html
    assert 'href="/products/"' in html  # the Catalog link in the nav


def test_catalog_lists_products_with_prices_and_availability(client, shop):
    html = client.get("/products/").content.decode()
    assert "2 products" in html
    assert "from $59.00" in html
    assert "Low stock" in html
    assert "$15.00" in html and "In stock" in html


def test_filters_search_and_categories(client, shop):
    assert "1 product<" in client.get("/products/", {"max_price": "20"}).content.decode()
    html = client.get("/search/", {"q": "stonewear"}).content.decode()
    assert "Stoneware Mug" in html and "Organic Cotton Hoodie" not in html
    html = client.get("/c/clothing/").content.decode()
    assert "Organic Cotton Hoodie" in html and "Stoneware Mug" not in html
    assert client.get("/c/nope/").status_code == 404


def test_bad_filter_input_is_a_form_error_not_a_500(client, shop):
    response = client.get("/products/", {"min_price": "lots", "max_price": "-3", "page": "x"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Enter a number." in html
    assert "2 products" in html


def test_product_page_has_a_variant_picker_with_honest_availability(client, shop):
    html = client.get("/products/organic-cotton-hoodie/").content.decode()
    assert 'value="HOOD-M" checked' in html
    assert 'value="HOOD-L" disabled' in html
    assert "Only 3 left" in html and "Out of stock" in html
    assert client.get("/products/nope/").status_code == 404


def test_product_page_shows_a_new_price_on_the_next_request(client, shop):
    assert "$59.00" in client.get("/products/organic-cotton-hoodie/").content.decode()
    services.variant_price_set(sku="HOOD-M", price_minor=4900)
    html = client.get("/products/organic-cotton-hoodie/").content.decode()
    assert "$49.00" in html and "$59.00" not in html
    assert "from $49.00" in client.get("/products/").content.decode()


def test_selling_out_shows_on_the_product_and_list_pages(client, shop):
    client.get("/products/")
    client.get("/products/organic-cotton-hoodie/")
    services.stock_reserve(reference="FM-1", lines=[services.StockLine("HOOD-M", 3)])
    assert "Out of stock" in client.get("/products/organic-cotton-hoodie/").content.decode()
    assert "1 product<" in client.get("/products/", {"in_stock": "on"}).content.decode()


@pytest.mark.parametrize("q", ["&|!():*", "'", "hoodie & | !", "a" * 300, "\x00bad", "<script>"])
def test_odd_search_text_never_breaks_the_page_or_the_api(client, shop, q):
    from rest_framework.test import APIClient

    assert client.get("/search/", {"q": q}).status_code == 200
    assert APIClient().get("/api/v1/products/", {"q": q}).status_code in (200, 400)


def test_add_to_basket_form_posts_to_the_basket_when_orders_offers_one(client, shop):
    from django.urls import NoReverseMatch, reverse

    html = client.get("/products/organic-cotton-hoodie/").content.decode()
    try:
        url = reverse("orders:basket_add")
    except NoReverseMatch:
        assert "Add to basket" not in html
    else:
        assert f'action="{url}"' in html and 'name="quantity"' in html
