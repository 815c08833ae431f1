"""Catalog search and filtering on PostgreSQL, shared by the storefront and the API.

Full-text search ranks products by the weighted ``search_vector`` (name A, description B,
GIN-indexed); trigram word similarity on the name (``pg_trgm``, GIN-indexed) finds products
despite typos ("hodie" → "Hoodie"). A product matches if either matches; the order is
text rank plus similarity.

Lists show only products open to the customer now (``selectors.open_to``): members with early
access see new arrivals from their early-access time, everyone else from the public launch. Cached
pages key on the audience and on the latest launch time that has passed (``sale_epoch``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.core.paginator import EmptyPage, Paginator
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from inventory import catalog_cache
from inventory.models import SEARCH_CONFIG, Category, Product
from inventory.selectors import (
    category_descendant_ids,
    open_to,
    product_catalog_queryset,
    product_summary,
    sale_boundaries,
)

TRIGRAM_THRESHOLD = 0.4

SORTS = {
    "relevance": None,
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "price": ("price_min", "name", "id"),
    "-price": ("-price_min", "name", "id"),
    "newest": ("-created_at", "-id"),
}


@dataclass(frozen=True)
class CatalogQuery:
    q: str = ""
    category: str = ""
    min_price: int | None = None
    max_price: int | None = None
    in_stock: bool = False
    sort: str = "relevance"
    # The customer has members' early access (the caller knows; inventory cannot ask subscriptions).
    member_early_access: bool = False

    @classmethod
    def from_params(cls, data: dict, *, member_early_access: bool = False) -> CatalogQuery:
        """From validated form / serializer data (``sort`` may be called ``ordering``)."""
        sort = data.get("sort") or data.get("ordering") or "relevance"
        return cls(
            q=(data.get("q") or "").strip(),
            category=data.get("category") or "",
            min_price=data.get("min_price"),
            max_price=data.get("max_price"),
            in_stock=bool(data.get("in_stock")),
            sort=sort if sort in SORTS else "relevance",
            member_early_access=member_early_access,
        )

    def as_params(self) -> dict:
        return {
            "q": self.q,
            "category": self.category,
            "min_price": self.min_price,
            "max_price": self.max_price,
            "in_stock": "1" if self.in_stock else "",
            "sort": self.sort,
            "members": "1" if self.member_early_access else "",
            "sale_epoch": sale_epoch(),
        }


def sale_epoch() -> str:
    """The latest launch time (early access or public) that has passed: part of every cached list's key."""
    boundaries = catalog_cache.cached(key="sale-boundaries", deps=[catalog_cache.LISTS], build=sale_boundaries)
    now = time.time()
    passed = [b for b in boundaries if b <= now]
    return repr(passed[-1]) if passed else "0"


def product_search(*, products: QuerySet[Product], q: str) -> QuerySet[Product]:
    query = SearchQuery(q, config=SEARCH_CONFIG, search_type="websearch")
    return (
        products.annotate(
            rank=SearchRank(F("search_vector"), query),
            similarity=TrigramWordSimilarity(q, "name"),
        )
        .filter(Q(search_vector=query) | Q(similarity__gte=TRIGRAM_THRESHOLD))
        .annotate(score=F("rank") + F("similarity"))
    )


def catalog_products(*, query: CatalogQuery) -> QuerySet[Product]:
    """Active products matching ``query``, ordered as asked (a category that does not exist matches nothing)."""
    products = open_to(product_catalog_queryset(), is_member=query.member_early_access, now=timezone.now())
    if query.category:
        category = Category.objects.filter(slug=query.category).first()
        if category is None:
            return products.none()
        products = products.filter(category_id__in=category_descendant_ids(category=category))
    if query.min_price is not None:
        products = products.filter(price_min__gte=query.min_price)
    if query.max_price is not None:
        products = products.filter(price_min__lte=query.max_price)
    if query.in_stock:
        products = products.filter(available__gt=0)
    q = query.q.strip()
    if q:
        products = product_search(products=products, q=q)
    order = SORTS.get(query.sort) or (("-score", "name", "id") if q else ("name", "id"))
    return products.order_by(*order)


def catalog_page(*, query: CatalogQuery, page: int = 1, per_page: int = 24) -> dict:
    """One storefront page of ``query`` as plain data, cached until a product it may show changes."""

    def build() -> dict:
        paginator = Paginator(catalog_products(query=query), per_page)
        try:
            current = paginator.page(page)
        except EmptyPage:
            current = paginator.page(paginator.num_pages or 1)
        return {
            "products": [product_summary(p) for p in current.object_list],
            "count": paginator.count,
            "page": current.number,
            "num_pages": paginator.num_pages,
            "has_next": current.has_next(),
            "has_previous": current.has_previous(),
        }

    deps = [catalog_cache.category_dep(query.category) if query.category else catalog_cache.LISTS]
    key = catalog_cache.query_key("page:products", {**query.as_params(), "page": page, "per_page": per_page})
    return catalog_cache.cached(key=key, deps=deps, build=build)
