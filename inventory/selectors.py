"""Read-only queries of the inventory app.

For other apps: ``variant_get_by_sku``, ``variants_by_sku``, ``available_quantity``,
``availability_by_sku``, ``reservation_get`` (plain dataclasses, never models) and the sale window
(``SaleWindow``, ``sale_status``; a variant's window is ``VariantInfo.sale_window``).
The storefront, API and admin of this app also use the catalog queries below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, F, IntegerField, Max, Min, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from inventory.allocation import Allocation, Reservation
from inventory.models import (
    Category,
    Product,
    ProductImage,
    ReservationAllocation,
    Stock,
    StockMovement,
    Variant,
)
from inventory.models import Reservation as ReservationRecord
from inventory.sale_windows import ALWAYS_OPEN, SaleWindow, sale_status  # noqa: F401 (re-exported)

# "Only 3 left" below this many sellable units.
FEW_LEFT = 5


@dataclass(frozen=True)
class VariantInfo:
    sku: str
    product_name: str
    product_slug: str
    variant_name: str
    price_minor: int
    currency: str
    weight_grams: int
    is_active: bool
    image_url: str
    sale_window: SaleWindow = field(default=ALWAYS_OPEN)


@dataclass(frozen=True)
class StockLevel:
    sku: str
    warehouse_code: str
    warehouse_name: str
    on_hand: int
    reserved: int
    available: int
    low_stock_threshold: int


def _variant_info(v: Variant, *, pictures: bool = True) -> VariantInfo:
    images = list(v.product.images.all()) if pictures else []
    return VariantInfo(
        sku=v.sku,
        product_name=v.product.name,
        product_slug=v.product.slug,
        variant_name=v.name,
        price_minor=v.price_minor,
        currency=v.currency,
        weight_grams=v.weight_grams,
        is_active=v.is_active and v.product.is_active,
        image_url=images[0].url if images else "",
        sale_window=v.product.sale_window,
    )


def product_images_in_order() -> QuerySet[ProductImage]:
    """A product's pictures by position: the first one is its main picture on every page, list and export."""
    return ProductImage.objects.order_by("position", "id")


def _variant_qs(*, pictures: bool = True) -> QuerySet[Variant]:
    variants = Variant.objects.select_related("product")
    return (
        variants.prefetch_related(Prefetch("product__images", queryset=product_images_in_order()))
        if pictures
        else variants
    )


def variant_get_by_sku(*, sku: str) -> VariantInfo | None:
    v = _variant_qs().filter(sku=sku).first()
    return _variant_info(v) if v else None


def variants_by_sku(*, skus: list[str], pictures: bool = True) -> dict[str, VariantInfo]:
    """One query for the variants (plus one for their images; ``pictures=False``: none, ``image_url`` empty, for
    callers that only price)."""
    variants = _variant_qs(pictures=pictures).filter(sku__in=set(skus))
    return {v.sku: _variant_info(v, pictures=pictures) for v in variants}


def _sellable(qs: QuerySet[Stock]) -> QuerySet[Stock]:
    return qs.filter(warehouse__is_active=True)


def available_quantity(*, sku: str) -> int:
    """Units that can still be sold: sum over active warehouses of on_hand - reserved."""
    total = _sellable(Stock.objects.filter(variant__sku=sku)).aggregate(n=Sum(F("on_hand") - F("reserved")))["n"]
    return max(total or 0, 0)


def availability_by_sku(*, skus: list[str]) -> dict[str, int]:
    rows = (
        _sellable(Stock.objects.filter(variant__sku__in=set(skus)))
        .values("variant__sku")
        .annotate(n=Sum(F("on_hand") - F("reserved")))
    )
    found = {r["variant__sku"]: max(r["n"] or 0, 0) for r in rows}
    return {sku: found.get(sku, 0) for sku in skus}


def stock_levels_for_sku(*, sku: str) -> list[StockLevel]:
    rows = Stock.objects.filter(variant__sku=sku).select_related("variant", "warehouse").order_by("warehouse__priority")
    return [
        StockLevel(
            sku=s.variant.sku,
            warehouse_code=s.warehouse.code,
            warehouse_name=s.warehouse.name,
            on_hand=s.on_hand,
            reserved=s.reserved,
            available=s.available,
            low_stock_threshold=s.low_stock_threshold,
        )
        for s in rows
    ]


def reservation_info(record: ReservationRecord) -> Reservation:
    allocations = [
        Allocation(sku=a.stock.variant.sku, warehouse_code=a.stock.warehouse.code, quantity=a.quantity)
        for a in record.allocations.select_related("stock__variant", "stock__warehouse").order_by("id")
    ]
    return Reservation(
        reference=record.reference, expires_at=record.expires_at, allocations=allocations, state=record.state
    )


def reservation_get(*, reference: str) -> Reservation | None:
    """The live (active or committed) reservation of ``reference``, else the latest one."""
    record = ReservationRecord.objects.filter(reference=reference).order_by("-created_at", "-id").first()
    live = ReservationRecord.objects.filter(
        reference=reference, state__in=[ReservationRecord.State.ACTIVE, ReservationRecord.State.COMMITTED]
    ).first()
    record = live or record
    return reservation_info(record) if record else None


# --- Ledger ------------------------------------------------------------------------------


def stock_ledger_mismatches() -> list[dict]:
    """Stock rows whose figures disagree with the ledger / the active reservations (should be [])."""
    ledger = (
        StockMovement.objects.filter(stock=OuterRef("pk")).values("stock").annotate(n=Sum("quantity")).values("n")[:1]
    )
    held = (
        ReservationAllocation.objects.filter(stock=OuterRef("pk"), reservation__state=ReservationRecord.State.ACTIVE)
        .values("stock")
        .annotate(n=Sum("quantity"))
        .values("n")[:1]
    )
    rows = (
        Stock.objects.annotate(
            ledger=Coalesce(Subquery(ledger, output_field=IntegerField()), 0),
            held=Coalesce(Subquery(held, output_field=IntegerField()), 0),
        )
        .filter(~Q(on_hand=F("ledger")) | ~Q(reserved=F("held")))
        .values("id", "variant__sku", "warehouse__code", "on_hand", "ledger", "reserved", "held")
    )
    return list(rows)


def low_stock_queryset() -> QuerySet[Stock]:
    return (
        Stock.objects.filter(warehouse__is_active=True, on_hand__lte=F("reserved") + F("low_stock_threshold"))
        .select_related("variant__product", "warehouse")
        .order_by("warehouse__priority", "variant__sku")
    )


# --- Catalog -----------------------------------------------------------------------------


def _available_subquery():
    return Coalesce(
        Subquery(
            Stock.objects.filter(variant__product=OuterRef("pk"), variant__is_active=True, warehouse__is_active=True)
            .values("variant__product")
            .annotate(n=Sum(F("on_hand") - F("reserved")))
            .values("n")[:1],
            output_field=IntegerField(),
        ),
        0,
    )


def product_catalog_queryset() -> QuerySet[Product]:
    """Active products with price range and availability annotated and their variants/images prefetched.

    A fixed number of queries whatever the page size: the page, its variants, its images.
    """
    return (
        Product.objects.filter(is_active=True)
        .select_related("category")
        .annotate(
            price_min=Min("variants__price_minor", filter=Q(variants__is_active=True)),
            price_max=Max("variants__price_minor", filter=Q(variants__is_active=True)),
            variant_count=Count("variants", filter=Q(variants__is_active=True)),
            available=_available_subquery(),
        )
        .prefetch_related(
            Prefetch("variants", queryset=Variant.objects.filter(is_active=True).order_by("position", "id")),
            Prefetch("images", queryset=product_images_in_order()),
        )
    )


def open_to(products: QuerySet[Product], *, is_member: bool, now: datetime) -> QuerySet[Product]:
    """Products this customer may buy now: everyone's launch passed, or (members) the early access opened."""
    public = Q(on_sale_at__isnull=True) | Q(on_sale_at__lte=now)
    if is_member:
        return products.filter(public | Q(early_access_at__lte=now))
    return products.filter(public)


def sale_boundaries() -> list[float]:
    """Every launch time (early access or public) of an active product, as timestamps, sorted.

    Cached catalog lists key on the latest one that has passed, so a list changes the moment a
    product opens to its audience without anything having to invalidate it.
    """
    times = set()
    for early, public in (
        Product.objects.filter(is_active=True)
        .filter(Q(early_access_at__isnull=False) | Q(on_sale_at__isnull=False))
        .values_list("early_access_at", "on_sale_at")
    ):
        times |= {t.timestamp() for t in (early, public) if t is not None}
    return sorted(times)


def products_due_for_early_access_announcement(*, now: datetime) -> list[int]:
    """Products whose members' early access has opened and whose members were not told yet."""
    return list(
        Product.objects.filter(
            is_active=True,
            early_access_at__isnull=False,
            early_access_at__lte=now,
            on_sale_at__gt=now,
            early_access_announced_at__isnull=True,
        )
        .order_by("early_access_at", "id")
        .values_list("id", flat=True)
    )


def category_descendant_ids(*, category: Category) -> list[int]:
    """The category and everything below it (the tree is shallow; one query per level)."""
    ids, frontier = [category.pk], [category.pk]
    while frontier:
        frontier = list(Category.objects.filter(parent_id__in=frontier).values_list("id", flat=True))
        frontier = [i for i in frontier if i not in ids]
        ids.extend(frontier)
    return ids


def category_tree() -> list[dict]:
    """[{id, name, slug, parent_id, product_count, children: [...]}] for navigation and the API."""
    cats = list(
        Category.objects.annotate(product_count=Count("products", filter=Q(products__is_active=True))).order_by(
            "position", "name"
        )
    )
    nodes = {
        c.pk: {
            "id": c.pk,
            "name": c.name,
            "slug": c.slug,
            "parent_id": c.parent_id,
            "product_count": c.product_count,
            "children": [],
        }
        for c in cats
    }
    roots = []
    for c in cats:
        node = nodes[c.pk]
        if c.parent_id and c.parent_id in nodes:
            nodes[c.parent_id]["children"].append(node)
        else:
            roots.append(node)
    return roots


def stock_status(available: int) -> str:
    """Coarse status shown in lists: ``in_stock``, ``low_stock`` (≤ FEW_LEFT) or ``out_of_stock``."""
    if available <= 0:
        return "out_of_stock"
    return "low_stock" if available <= FEW_LEFT else "in_stock"


STATUS_LABELS = {"in_stock": "In stock", "low_stock": "Low stock", "out_of_stock": "Out of stock"}


def availability_label(available: int) -> str:
    if available <= 0:
        return "Out of stock"
    if available <= FEW_LEFT:
        return f"Only {available} left"
    return "In stock"


def product_detail_data(*, slug: str) -> dict | None:
    """Everything the product page and the API detail show, as plain data (cacheable)."""
    product = (
        Product.objects.filter(slug=slug, is_active=True)
        .select_related("category__parent")
        .prefetch_related(Prefetch("images", queryset=product_images_in_order()))
        .first()
    )
    if product is None:
        return None
    variants = list(product.variants.filter(is_active=True).order_by("position", "id"))
    availability = availability_by_sku(skus=[v.sku for v in variants])
    variant_rows = [
        {
            "sku": v.sku,
            "name": v.name,
            "options": v.options,
            "price_minor": v.price_minor,
            "currency": v.currency,
            "weight_grams": v.weight_grams,
            "barcode": v.barcode,
            "available": availability[v.sku],
            "availability": availability_label(availability[v.sku]),
            "in_stock": availability[v.sku] > 0,
        }
        for v in variants
    ]
    option_names: list[str] = []
    for v in variants:
        for name in v.options:
            if name not in option_names:
                option_names.append(name)
    total = sum(availability.values())
    prices = [v.price_minor for v in variants]
    return {
        "name": product.name,
        "slug": product.slug,
        "description": product.description,
        "attributes": product.attributes,
        "category": {"name": product.category.name, "slug": product.category.slug},
        "breadcrumbs": [{"name": c.name, "slug": c.slug} for c in [*product.category.ancestors(), product.category]],
        "images": [{"url": i.url, "alt": i.alt or product.name} for i in product.images.all()],
        "price_min_minor": min(prices) if prices else None,
        "price_max_minor": max(prices) if prices else None,
        "currency": variants[0].currency if variants else "USD",
        "available": total,
        "availability": availability_label(total),
        "in_stock": total > 0,
        "option_names": option_names,
        "default_sku": next((v["sku"] for v in variant_rows if v["in_stock"]), ""),
        "variants": variant_rows,
        # Raw times: who may buy is decided per request (``sale_status``), so this stays cacheable.
        "sale_window": product.sale_window.as_payload(),
    }


def product_summary(p: Product) -> dict:
    """One row of a product list (``p`` from ``product_catalog_queryset``).

    Lists show a coarse stock status, not unit counts, so a sale does not invalidate every cached
    list page; the product page shows the exact "Only 3 left".
    """
    images = list(p.images.all())
    variants = list(p.variants.all())
    return {
        "name": p.name,
        "slug": p.slug,
        "category": {"name": p.category.name, "slug": p.category.slug},
        "price_min_minor": p.price_min,
        "price_max_minor": p.price_max,
        "currency": variants[0].currency if variants else "USD",
        "image_url": images[0].url if images else "",
        "stock_status": stock_status(p.available),
        "availability": STATUS_LABELS[stock_status(p.available)],
        "in_stock": p.available > 0,
        "variant_count": p.variant_count,
        "skus": [v.sku for v in variants],
        "sale_window": p.sale_window.as_payload(),
    }


def product_title_for_slug(*, slug: str) -> str | None:
    return Product.objects.filter(slug=slug).values_list("name", flat=True).first()


# --- Reports -----------------------------------------------------------------------------


def skus_by_category() -> dict[str, list[str]]:
    """Every SKU of the catalog under its product's category name (the reports group order lines by it)."""
    grouped: dict[str, list[str]] = {}
    for sku, category in Variant.objects.values_list("sku", "product__category__name").order_by("sku"):
        grouped.setdefault(category, []).append(sku)
    return grouped


def stock_alerts(*, limit: int = 50) -> tuple[int, list[dict]]:
    """Stock at or below its low-stock threshold in active warehouses: how many, and the first ``limit``
    (lowest available first): sku, product, warehouse, on hand, reserved, available, threshold."""
    qs = low_stock_queryset()
    rows = (
        qs.annotate(available=F("on_hand") - F("reserved"))
        .values(
            "variant__sku",
            "variant__product__name",
            "warehouse__code",
            "on_hand",
            "reserved",
            "available",
            "low_stock_threshold",
        )
        .order_by("available", "variant__sku", "warehouse__code")[:limit]
    )
    return qs.count(), [
        {
            "sku": r["variant__sku"],
            "product": r["variant__product__name"],
            "warehouse": r["warehouse__code"],
            "on_hand": r["on_hand"],
            "reserved": r["reserved"],
            "available": r["available"],
            "threshold": r["low_stock_threshold"],
        }
        for r in rows
    ]


def product_picture_facts(*, slug: str) -> tuple[str, str] | None:
    """(name, colour) for the generated picture: the colour of the first variant that has one."""
    product = Product.objects.filter(slug=slug).first()
    if product is None:
        return None
    colours = Variant.objects.filter(product=product, options__has_key="colour").order_by("position", "pk")
    colour = colours.values_list("options__colour", flat=True).first() or product.attributes.get("colour", "")
    return product.name, str(colour)
