"""Catalog changes: prices, on-hand from an import, and the cache they invalidate."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from flowmart.events.publisher import publish
from inventory import catalog_cache
from inventory.errors import InsufficientStock, InvalidPrice, InvalidQuantity, UnknownSku
from inventory.events import EarlyAccessOpened
from inventory.models import (
    Category,
    Product,
    Stock,
    StockMovement,
    Variant,
)
from inventory.selectors import products_due_for_early_access_announcement
from inventory.stock_book import (
    StockBook,
    category_deps,
    stock_row_ensure,
    variant_by_sku,
    warehouse_by_code,
)

Reason = StockMovement.Reason


# --- Catalog ---------------------------------------------------------------------------


def product_catalog_changed(
    *, product: Product, old_slug: str | None = None, old_category: Category | None = None
) -> None:
    """A product, its variants or prices changed (admin, import): drop exactly the cached entries that show it."""
    deps = {catalog_cache.LISTS, catalog_cache.product_dep(product.slug), *category_deps(product.category)}
    if old_slug:
        deps.add(catalog_cache.product_dep(old_slug))
    if old_category:
        deps |= category_deps(old_category)
    catalog_cache.invalidate(deps)


def early_access_announce_due(*, now: datetime | None = None) -> list[str]:
    """Publish ``EarlyAccessOpened`` once for every product whose members' early access has opened.

    Beat runs it every minute. Each product is locked and marked announced in the transaction that
    publishes its event, so two runs at once (or a run after a crash) announce it once.
    """
    now = now or timezone.now()
    announced = []
    for product_id in products_due_for_early_access_announcement(now=now):
        with transaction.atomic():
            product = (
                Product.objects.select_for_update(skip_locked=True)
                .filter(pk=product_id, early_access_announced_at__isnull=True)
                .first()
            )
            if product is None:
                continue
            variants = list(product.variants.filter(is_active=True).order_by("price_minor", "id"))
            product.early_access_announced_at = now
            product.save(update_fields=["early_access_announced_at"])
            publish(
                EarlyAccessOpened(
                    correlation_id=f"product:{product.slug}",
                    product_name=product.name,
                    product_slug=product.slug,
                    skus=[v.sku for v in variants],
                    early_access_at=product.early_access_at.isoformat(),
                    on_sale_at=product.on_sale_at.isoformat(),
                    price_min_minor=variants[0].price_minor if variants else 0,
                    currency=variants[0].currency if variants else "USD",
                )
            )
            announced.append(product.slug)
    return announced


def category_catalog_changed(*, category: Category, old_slug: str | None = None) -> None:
    """A category was renamed, moved or added: lists, the tree, and its products' pages show it."""
    deps = {catalog_cache.LISTS, *category_deps(category)}
    if old_slug:
        deps.add(catalog_cache.category_dep(old_slug))
    deps |= {catalog_cache.product_dep(slug) for slug in category.products.values_list("slug", flat=True)}
    catalog_cache.invalidate(deps)


def variant_price_set(*, sku: str, price_minor: int) -> Variant:
    if not isinstance(price_minor, int) or isinstance(price_minor, bool) or price_minor < 0:
        raise InvalidPrice("A price is a whole number of minor units, zero or more.")
    with transaction.atomic():
        variant = Variant.objects.select_for_update(of=("self",)).select_related("product").filter(sku=sku).first()
        if variant is None:
            raise UnknownSku(f"There is no SKU {sku!r}.")
        variant.price_minor = price_minor
        variant.save(update_fields=["price_minor"])
        product_catalog_changed(product=variant.product)
        return variant


def stock_set_on_hand(
    *,
    sku: str,
    warehouse_code: str,
    on_hand: int,
    low_stock_threshold: int | None = None,
    note: str = "",
    by=None,
) -> Stock:
    """Make on-hand stock equal a counted figure (ledger reason ``correction`` for the difference)."""
    if not isinstance(on_hand, int) or isinstance(on_hand, bool) or on_hand < 0:
        raise InvalidQuantity("On-hand stock is a whole number, zero or more.")
    variant, warehouse = variant_by_sku(sku), warehouse_by_code(warehouse_code)
    with transaction.atomic():
        stock_row_ensure(variant, warehouse)
        book = StockBook(variant_ids=[variant.pk], correlation_id=f"sku:{sku}")
        stock = book.row(variant_id=variant.pk, warehouse_id=warehouse.pk)
        if on_hand < stock.reserved:
            raise InsufficientStock([{"sku": sku, "requested": stock.reserved, "available": on_hand}])
        if low_stock_threshold is not None and low_stock_threshold != stock.low_stock_threshold:
            stock.low_stock_threshold = low_stock_threshold
            stock.save(update_fields=["low_stock_threshold"])
        if on_hand != stock.on_hand:
            book.move(stock, quantity=on_hand - stock.on_hand, reason=Reason.CORRECTION, note=note, by=by)
        book.close()
        return stock
