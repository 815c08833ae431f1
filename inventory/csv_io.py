"""CSV import and export of the catalog and of stock levels (admin and management commands).

Imports are all or nothing: every row is validated first and every problem is reported with
its line number (the header is line 1); only a file without problems is applied, inside one
transaction, so a failure can never leave half an import behind.

Catalog columns: category_slug, category_name, parent_category_slug, product_slug, product_name,
description, sku, variant_name, options ("size=M; colour=Blue"), price_minor, currency,
weight_grams, barcode, active ("1"/"0"), image_url. One row per variant; product and category
columns repeat.

Stock columns: sku, warehouse, on_hand, low_stock_threshold. ``on_hand`` is the counted figure;
the difference is recorded in the ledger as a ``correction``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Prefetch
from django.utils.text import slugify

from flowmart.errors import FlowMartError
from inventory import services
from inventory.models import Category, Product, ProductImage, Stock, Variant, Warehouse
from inventory.selectors import product_images_in_order

CATALOG_COLUMNS = [
    "category_slug",
    "category_name",
    "parent_category_slug",
    "product_slug",
    "product_name",
    "description",
    "sku",
    "variant_name",
    "options",
    "price_minor",
    "currency",
    "weight_grams",
    "barcode",
    "active",
    "image_url",
]
STOCK_COLUMNS = ["sku", "warehouse", "on_hand", "low_stock_threshold"]
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_ROWS = 20000
OPTIONAL_COLUMNS = {"parent_category_slug", "description", "barcode", "image_url", "options", "low_stock_threshold"}


class CsvImportError(FlowMartError):
    code = "csv_invalid"
    status = 400
    title = "The CSV file has problems; nothing was imported"

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors[:20]), errors=errors)
        self.errors = errors


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    messages: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


def _rows(text: str, columns: list[str]) -> list[tuple[int, dict]]:
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    required = [c for c in missing if c not in OPTIONAL_COLUMNS]
    if required:
        raise CsvImportError([f"line 1: missing column(s) {', '.join(required)}"])
    rows = []
    for row in reader:
        if len(rows) >= MAX_ROWS:
            raise CsvImportError([f"line {reader.line_num}: more than {MAX_ROWS} rows; split the file"])
        rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items() if k is not None}))
    if not rows:
        raise CsvImportError(["the file has no rows"])
    return rows


def _int(value: str, name: str, errors: list[str], line: int, *, minimum: int = 0) -> int | None:
    try:
        number = int(value)
    except ValueError:
        errors.append(f"line {line}: {name} must be a whole number, not {value!r}")
        return None
    if number < minimum:
        errors.append(f"line {line}: {name} must be at least {minimum}")
        return None
    return number


def _options(value: str, errors: list[str], line: int) -> dict:
    options = {}
    for part in filter(None, (p.strip() for p in value.split(";"))):
        if "=" not in part:
            errors.append(f"line {line}: option {part!r} must look like name=value")
            continue
        key, val = (s.strip() for s in part.split("=", 1))
        options[key] = val
    return options


# --- Catalog -----------------------------------------------------------------------------


def catalog_import_csv(*, text: str) -> ImportResult:
    rows = _rows(text, CATALOG_COLUMNS)
    errors: list[str] = []
    parsed = []
    seen_skus: dict[str, int] = {}
    known_categories = set(Category.objects.values_list("slug", flat=True))
    file_categories = {r["category_slug"] for _, r in rows}
    for line, r in rows:
        for col in ("category_slug", "category_name", "product_slug", "product_name", "sku", "price_minor"):
            if not r.get(col):
                errors.append(f"line {line}: {col} is required")
        if r.get("category_slug") and slugify(r["category_slug"]) != r["category_slug"]:
            errors.append(f"line {line}: category_slug {r['category_slug']!r} is not a valid slug")
        if r.get("product_slug") and slugify(r["product_slug"]) != r["product_slug"]:
            errors.append(f"line {line}: product_slug {r['product_slug']!r} is not a valid slug")
        parent = r.get("parent_category_slug", "")
        if parent and parent not in known_categories and parent not in file_categories:
            errors.append(f"line {line}: parent category {parent!r} does not exist")
        if r.get("sku"):
            if r["sku"] in seen_skus:
                errors.append(f"line {line}: SKU {r['sku']} already appears on line {seen_skus[r['sku']]}")
            seen_skus[r["sku"]] = line
            if len(r["sku"]) > 64:
                errors.append(f"line {line}: SKU is longer than 64 characters")
        price = _int(r["price_minor"], "price_minor", errors, line) if r.get("price_minor") else None
        weight = _int(r.get("weight_grams") or "0", "weight_grams", errors, line)
        currency = (r.get("currency") or "USD").upper()
        if not CURRENCY.match(currency):
            errors.append(f"line {line}: currency {currency!r} is not an ISO 4217 code")
        active = (r.get("active") or "1").lower()
        if active not in {"1", "0", "true", "false", "yes", "no"}:
            errors.append(f"line {line}: active must be 1 or 0")
        parsed.append(
            (
                line,
                r,
                {
                    "price_minor": price,
                    "weight_grams": weight or 0,
                    "currency": currency,
                    "active": active in {"1", "true", "yes"},
                    "options": _options(r.get("options", ""), errors, line),
                },
            )
        )
    if errors:
        raise CsvImportError(errors)

    result = ImportResult()
    changed: dict[int, Product] = {}
    with transaction.atomic():
        categories = {c.slug: c for c in Category.objects.all()}
        for _, r, _v in parsed:
            category = categories.get(r["category_slug"])
            if category is None:
                category = Category.objects.create(slug=r["category_slug"], name=r["category_name"])
                categories[category.slug] = category
        for _, r, _v in parsed:
            parent = r.get("parent_category_slug") or None
            category = categories[r["category_slug"]]
            parent_id = categories[parent].pk if parent else category.parent_id
            if category.name != r["category_name"] or category.parent_id != parent_id:
                category.name, category.parent_id = r["category_name"], parent_id
                category.save()
        for _line, r, v in parsed:
            product, created_product = Product.objects.get_or_create(
                slug=r["product_slug"],
                defaults={
                    "name": r["product_name"],
                    "description": r.get("description", ""),
                    "category": categories[r["category_slug"]],
                },
            )
            if not created_product and (
                product.name != r["product_name"]
                or product.description != r.get("description", product.description)
                or product.category_id != categories[r["category_slug"]].pk
            ):
                product.name = r["product_name"]
                product.description = r.get("description", product.description)
                product.category = categories[r["category_slug"]]
                product.save()
            if r.get("image_url") and not product.images.filter(url=r["image_url"]).exists():
                ProductImage.objects.create(product=product, url=r["image_url"], alt=product.name)
            values = {
                "product": product,
                "name": r.get("variant_name", ""),
                "options": v["options"],
                "price_minor": v["price_minor"],
                "currency": v["currency"],
                "weight_grams": v["weight_grams"],
                "barcode": r.get("barcode", ""),
                "is_active": v["active"],
            }
            variant = Variant.objects.filter(sku=r["sku"]).first()
            if variant is None:
                Variant.objects.create(sku=r["sku"], **values)
                result.created += 1
            elif any(getattr(variant, k) != val for k, val in values.items()):
                for k, val in values.items():
                    setattr(variant, k, val)
                variant.save()
                result.updated += 1
            else:
                result.unchanged += 1
                continue
            changed[product.pk] = product
        for product in changed.values():
            services.product_catalog_changed(product=product)
    return result


def catalog_export_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CATALOG_COLUMNS)
    variants = (
        Variant.objects.select_related("product__category__parent")
        .prefetch_related(Prefetch("product__images", queryset=product_images_in_order()))
        .order_by("product__slug", "position", "id")
    )
    for v in variants:
        p, c = v.product, v.product.category
        images = list(p.images.all())
        writer.writerow(
            [
                c.slug,
                c.name,
                c.parent.slug if c.parent else "",
                p.slug,
                p.name,
                p.description,
                v.sku,
                v.name,
                "; ".join(f"{k}={val}" for k, val in v.options.items()),
                v.price_minor,
                v.currency,
                v.weight_grams,
                v.barcode,
                "1" if v.is_active and p.is_active else "0",
                images[0].url if images else "",
            ]
        )
    return out.getvalue()


# --- Stock levels ------------------------------------------------------------------------


def stock_import_csv(*, text: str, by=None) -> ImportResult:
    rows = _rows(text, STOCK_COLUMNS)
    errors: list[str] = []
    skus = set(Variant.objects.filter(sku__in={r["sku"] for _, r in rows}).values_list("sku", flat=True))
    warehouses = set(Warehouse.objects.values_list("code", flat=True))
    reserved = {
        (s["variant__sku"], s["warehouse__code"]): s["reserved"]
        for s in Stock.objects.filter(variant__sku__in=skus).values("variant__sku", "warehouse__code", "reserved")
    }
    seen: dict[tuple[str, str], int] = {}
    parsed = []
    for line, r in rows:
        if r["sku"] not in skus:
            errors.append(f"line {line}: unknown SKU {r['sku']!r}")
        if r["warehouse"] not in warehouses:
            errors.append(f"line {line}: unknown warehouse {r['warehouse']!r}")
        on_hand = _int(r["on_hand"], "on_hand", errors, line)
        threshold = (
            _int(r["low_stock_threshold"], "low_stock_threshold", errors, line)
            if r.get("low_stock_threshold")
            else None
        )
        key = (r["sku"], r["warehouse"])
        if key in seen:
            errors.append(f"line {line}: {r['sku']} in {r['warehouse']} already appears on line {seen[key]}")
        seen[key] = line
        if on_hand is not None and on_hand < reserved.get(key, 0):
            errors.append(f"line {line}: on_hand {on_hand} is below the {reserved[key]} units reserved for orders")
        parsed.append((r, on_hand, threshold))
    if errors:
        raise CsvImportError(errors)

    result = ImportResult()
    with transaction.atomic():
        for r, on_hand, threshold in parsed:
            before = Stock.objects.filter(variant__sku=r["sku"], warehouse__code=r["warehouse"]).first()
            stock = services.stock_set_on_hand(
                sku=r["sku"],
                warehouse_code=r["warehouse"],
                on_hand=on_hand,
                low_stock_threshold=threshold,
                note="CSV import",
                by=by,
            )
            if before is None:
                result.created += 1
            elif (before.on_hand, before.low_stock_threshold) != (stock.on_hand, stock.low_stock_threshold):
                result.updated += 1
            else:
                result.unchanged += 1
    return result


def stock_export_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*STOCK_COLUMNS, "reserved", "available"])
    for s in Stock.objects.select_related("variant", "warehouse").order_by("variant__sku", "warehouse__priority"):
        writer.writerow([s.variant.sku, s.warehouse.code, s.on_hand, s.low_stock_threshold, s.reserved, s.available])
    return out.getvalue()
