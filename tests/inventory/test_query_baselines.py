"""Catalog pages and API cost the same SQL for 2 products as for 12, pinned in tests/query_baselines.json."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from inventory.models import Product, Variant
from tests.inventory.factories import ProductImageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(stock_up):
    def _catalog(n: int):
        for i in range(n):
            stock_up(f"QB-{i}", east=3)
        for variant in Variant.objects.all():
            ProductImageFactory(product=variant.product)

    return _catalog


def uncached(request):
    """The figure without the catalog cache: emptied right before the request (not SQL, not counted)."""

    def _request():
        cache.clear()
        return request()

    return _request


@pytest.mark.parametrize("products", [2, 12])
def test_product_list_is_constant_in_page_size(client, api_client, catalog, products, query_baseline):
    catalog(products)
    query_baseline("api product list (uncached)", uncached(lambda: api_client.get("/api/v1/products/")))
    query_baseline("page product list (uncached)", uncached(lambda: client.get("/products/")))


def test_product_detail(client, api_client, catalog, query_baseline):
    catalog(1)

    slug = Product.objects.get().slug
    query_baseline("api product detail (uncached)", uncached(lambda: api_client.get(f"/api/v1/products/{slug}/")))
    query_baseline("page product detail (uncached)", uncached(lambda: client.get(f"/products/{slug}/")))
