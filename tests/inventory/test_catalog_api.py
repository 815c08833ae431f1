"""The public catalog API: search, filters, paging, a fixed query count, and cache invalidation."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory import services
from tests.inventory.factories import CategoryFactory, ProductFactory, ProductImageFactory, VariantFactory


@pytest.fixture
def catalog(stock_up):
    clothing = CategoryFactory(name="Clothing", slug="clothing")
    hoodies = CategoryFactory(name="Hoodies", slug="hoodies", parent=clothing)
    kitchen = CategoryFactory(name="Kitchen", slug="kitchen")
    hoodie = ProductFactory(
        name="Organic Cotton Hoodie", slug="organic-cotton-hoodie", category=hoodies, description="Warm and soft."
    )
    stock_up("HOOD-M", product=hoodie, price_minor=5900, east=3)
    stock_up("HOOD-L", product=hoodie, price_minor=6100, west=0)
    tee = ProductFactory(name="Linen Tee", slug="linen-tee", category=clothing, description="Breathable summer shirt.")
    stock_up("TEE-M", product=tee, price_minor=2500, central=10)
    mug = ProductFactory(name="Stoneware Mug", slug="stoneware-mug", category=kitchen, description="Holds hot coffee.")
    stock_up("MUG-1", product=mug, price_minor=1500, east=0)
    return {"hoodie": hoodie, "tee": tee, "mug": mug}


def slugs(response):
    assert response.status_code == 200, response.content
    return [row["slug"] for row in response.json()["results"]]


def test_list_is_paginated_and_shows_price_and_availability(api_client, catalog):
    response = api_client.get("/api/v1/products/", {"page_size": 2})
    body = response.json()
    assert body["count"] == 3
    assert [r["slug"] for r in body["results"]] == ["linen-tee", "organic-cotton-hoodie"]
    hoodie = body["results"][1]
    assert hoodie["price_min_minor"] == 5900
    assert hoodie["price_max_minor"] == 6100
    assert (hoodie["stock_status"], hoodie["availability"]) == ("low_stock", "Low stock")
    assert hoodie["category"] == {"name": "Hoodies", "slug": "hoodies"}
    assert body["next"].endswith("page=2&page_size=2")


def test_filters_and_sorting(api_client, catalog):
    assert slugs(api_client.get("/api/v1/products/", {"category": "clothing"})) == [
        "linen-tee",
        "organic-cotton-hoodie",
    ]
    assert slugs(api_client.get("/api/v1/products/", {"category": "hoodies"})) == ["organic-cotton-hoodie"]
    assert slugs(api_client.get("/api/v1/products/", {"in_stock": "true"})) == ["linen-tee", "organic-cotton-hoodie"]
    assert slugs(api_client.get("/api/v1/products/", {"min_price": 2000, "max_price": 3000})) == ["linen-tee"]
    assert slugs(api_client.get("/api/v1/products/", {"ordering": "-price"})) == [
        "organic-cotton-hoodie",
        "linen-tee",
        "stoneware-mug",
    ]
    assert slugs(api_client.get("/api/v1/products/", {"category": "no-such-thing"})) == []


def test_full_text_search_is_ranked_and_forgives_typos(api_client, catalog):
    assert slugs(api_client.get("/api/v1/products/", {"q": "coffee"})) == ["stoneware-mug"]
    assert slugs(api_client.get("/api/v1/products/", {"q": "hodie"})) == ["organic-cotton-hoodie"]
    assert slugs(api_client.get("/api/v1/products/", {"q": "linnen"})) == ["linen-tee"]
    assert slugs(api_client.get("/api/v1/products/", {"q": "shirt"})) == ["linen-tee"]


def test_bad_query_parameters_are_problem_details(api_client, catalog):
    response = api_client.get("/api/v1/products/", {"min_price": "cheap", "ordering": "random"})
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400
    assert set(body["errors"]) == {"min_price", "ordering"}


def test_product_list_runs_a_fixed_number_of_queries_whatever_the_page_size(api_client, stock_up):
    category = CategoryFactory(slug="bulk")
    for i in range(30):
        product = ProductFactory(name=f"Bulk item {i:02d}", slug=f"bulk-{i:02d}", category=category)
        ProductImageFactory(product=product)
        VariantFactory(product=product, sku=f"BULK-{i:02d}-A")
        VariantFactory(product=product, sku=f"BULK-{i:02d}-B")

    # The first list after a catalog change also reads the launch times once (search.sale_epoch).
    with CaptureQueriesContext(connection) as warm_up:
        api_client.get("/api/v1/products/", {"page_size": 1})
    counts = []
    for page_size in (5, 30):
        with CaptureQueriesContext(connection) as queries:
            response = api_client.get("/api/v1/products/", {"page_size": page_size})
        assert len(response.json()["results"]) == page_size
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[0] <= 5
    assert len(warm_up) == counts[0] + 1


def test_a_price_change_is_visible_on_the_next_request(api_client, catalog):
    assert api_client.get("/api/v1/products/organic-cotton-hoodie/").json()["variants"][0]["price_minor"] == 5900
    assert api_client.get("/api/v1/products/").json()["results"][1]["price_min_minor"] == 5900
    with CaptureQueriesContext(connection) as queries:
        api_client.get("/api/v1/products/organic-cotton-hoodie/")
    assert len(queries) == 0  # served from Redis

    services.variant_price_set(sku="HOOD-M", price_minor=4900)

    assert api_client.get("/api/v1/products/organic-cotton-hoodie/").json()["variants"][0]["price_minor"] == 4900
    assert api_client.get("/api/v1/products/").json()["results"][1]["price_min_minor"] == 4900


def test_a_stock_change_invalidates_only_that_product(api_client, catalog):
    api_client.get("/api/v1/products/linen-tee/")
    api_client.get("/api/v1/products/stoneware-mug/")

    services.stock_adjust(sku="TEE-M", warehouse_code="central", quantity=-7)

    with CaptureQueriesContext(connection) as queries:
        mug = api_client.get("/api/v1/products/stoneware-mug/").json()
    assert len(queries) == 0
    assert mug["availability"] == "Out of stock"
    assert api_client.get("/api/v1/products/linen-tee/").json()["availability"] == "Only 3 left"


def test_lists_are_invalidated_only_when_a_products_stock_status_changes(api_client, catalog):
    assert api_client.get("/api/v1/products/", {"ordering": "name"}).json()["results"][0]["stock_status"] == "in_stock"

    services.stock_adjust(sku="TEE-M", warehouse_code="central", quantity=-2)  # 10 -> 8: still in stock
    with CaptureQueriesContext(connection) as queries:
        tee = api_client.get("/api/v1/products/", {"ordering": "name"}).json()["results"][0]
    assert len(queries) == 0
    assert tee["stock_status"] == "in_stock"

    services.stock_adjust(sku="TEE-M", warehouse_code="central", quantity=-4)  # 8 -> 4: low stock
    tee = api_client.get("/api/v1/products/", {"ordering": "name"}).json()["results"][0]
    assert (tee["slug"], tee["stock_status"]) == ("linen-tee", "low_stock")


def test_detail_shows_variants_and_honest_availability(api_client, catalog):
    body = api_client.get("/api/v1/products/organic-cotton-hoodie/").json()
    assert body["breadcrumbs"] == [{"name": "Clothing", "slug": "clothing"}, {"name": "Hoodies", "slug": "hoodies"}]
    assert [(v["sku"], v["availability"]) for v in body["variants"]] == [
        ("HOOD-M", "Only 3 left"),
        ("HOOD-L", "Out of stock"),
    ]
    assert api_client.get("/api/v1/products/no-such-product/").status_code == 404


def test_categories_tree(api_client, catalog):
    body = api_client.get("/api/v1/categories/").json()
    assert [(c["slug"], [k["slug"] for k in c["children"]]) for c in body] == [
        ("clothing", ["hoodies"]),
        ("kitchen", []),
    ]


def test_schema_is_valid(api_client, db):
    response = api_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/products/", "/api/v1/inventory/stock/", "/api/v1/inventory/adjustments/"} <= set(paths)


def test_debug_servers_report_queries_per_request(api_client, catalog, settings):
    settings.DEBUG = True
    first = api_client.get("/api/v1/products/", {"page_size": 2})
    again = api_client.get("/api/v1/products/", {"page_size": 2})
    assert int(first["X-DB-Queries"]) >= 3
    assert again["X-DB-Queries"] == "0"


def test_debug_header_is_absent_in_production_mode(api_client, catalog):
    assert "X-DB-Queries" not in api_client.get("/api/v1/products/")
