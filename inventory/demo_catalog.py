"""A believable demo shop for ``manage.py seed_demo``: ~220 products, variants, three warehouses.

Each leaf category is a ``Line``, a row of the table in ``inventory/demo_catalog.json``: names,
materials, options and descriptions that belong to that kind of product (a cast-iron skillet, never
a cast-iron hoodie), and each product's generated picture draws its kind in its colour
(``inventory/placeholders.py``).

Idempotent (only what is missing is created) and fast (bulk inserts). Stock goes in as
``receipt`` ledger rows, so the stock figures equal the ledger from the start. Some SKUs are
deliberately low (at or below their threshold) and some out of stock everywhere. One new arrival is
in members' early access (``EARLY_ACCESS_SLUG``: members may buy it since yesterday, everyone in two
weeks from the first seed).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from inventory import catalog_cache
from inventory.models import Category, Product, ProductImage, Stock, StockMovement, Variant, Warehouse
from inventory.placeholders import placeholder_path

WAREHOUSES = [
    ("east", "East Coast DC", "200 Harbor Way, Newark, NJ 07114, US", 10),
    ("central", "Central DC", "4100 Logistics Pkwy, Columbus, OH 43217, US", 20),
    ("west", "West Coast DC", "88 Bayfront Ave, Oakland, CA 94607, US", 30),
]


@dataclass(frozen=True)
class Line:
    """One leaf category of the demo shop: names, materials and options that belong together."""

    parent: str
    leaf: str
    styles: list[str]  # the first word(s) of a name: "Heavyweight", "Cast Iron", …
    nouns: list[str]  # what it is: "Crew Tee", "Skillet", … (it picks the picture: inventory/placeholders.py)
    materials: list[str]
    price: tuple[int, int]  # minor units
    weight_grams: int
    options: str  # "apparel" (size × colour), "colour", "size", "none"
    pitch: str  # the description's first sentence; {name} and {material}
    care: str
    colours: list[str] = field(default_factory=lambda: ["Black", "Navy", "Forest", "Sand", "Rust"])
    # A style or noun that fixes the material ("Cast Iron" skillets are cast iron, puffers are down).
    made_of: dict[str, str] = field(default_factory=dict)
    avoid: tuple[str, ...] = ()  # style + noun pairs that make no sense ("Noise-Cancelling Speaker")


# The lines themselves are data, one object per line with the fields above: inventory/demo_catalog.json.
CATALOG_FILE = Path(__file__).with_name("demo_catalog.json")


def _lines_read() -> list[Line]:
    rows = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
    return [Line(**{**row, "price": tuple(row["price"]), "avoid": tuple(row.get("avoid", ()))}) for row in rows]


CATALOG = _lines_read()
SIZES = ["S", "M", "L", "XL"]
COOKWARE_SIZES = ["20 cm", "24 cm", "28 cm"]
PRODUCTS_PER_LINE = 22
EARLY_ACCESS_SLUG = "members-preview-merino-hoodie"


@dataclass
class SeedResult:
    categories: int = 0
    products: int = 0
    variants: int = 0
    stock_rows: int = 0

    def __str__(self) -> str:
        return (
            f"{self.categories} categories, {self.products} products, {self.variants} variants, "
            f"{self.stock_rows} stock rows created"
        )


def _variants_for(line: Line, rng: random.Random) -> list[tuple[str, dict]]:
    if line.options == "apparel":
        colours = rng.sample(line.colours, 2)
        return [(f"{s} / {c}", {"size": s, "colour": c}) for c in colours for s in rng.sample(SIZES, 2)]
    if line.options == "colour":
        return [(c, {"colour": c}) for c in rng.sample(line.colours, 2)]
    if line.options == "size":
        return [(s, {"size": s}) for s in rng.sample(COOKWARE_SIZES, 2)]
    return [("Standard", {})]


def _names(line: Line) -> list[str]:
    """PRODUCTS_PER_LINE distinct "<style> <noun>" names, spread over styles and nouns."""
    names = [f"{style} {noun}" for noun in line.nouns for style in line.styles]
    spread = [names[(i * 7) % len(names)] for i in range(len(names))]  # 7 is coprime with 24: a permutation
    return [name for name in spread if name not in line.avoid][:PRODUCTS_PER_LINE]


def _material(line: Line, name: str, rng: random.Random) -> str:
    picked = rng.choice(line.materials)
    for words, material in line.made_of.items():
        if words in name:
            return material
    return picked


def demo_catalog_ensure() -> SeedResult:
    rng = random.Random(20260301)  # deterministic: the same shop every time
    result = SeedResult()
    with transaction.atomic():
        warehouses = []
        for code, name, address, priority in WAREHOUSES:
            warehouse, _ = Warehouse.objects.get_or_create(
                code=code, defaults={"name": name, "address": address, "priority": priority}
            )
            warehouses.append(warehouse)

        categories: dict[str, Category] = {c.slug: c for c in Category.objects.all()}

        def category(name: str, parent: Category | None, position: int) -> Category:
            slug = slugify(name.replace("&", "and"))
            if slug not in categories:
                categories[slug] = Category.objects.create(name=name, slug=slug, parent=parent, position=position)
                result.categories += 1
            return categories[slug]

        existing = set(Product.objects.values_list("slug", flat=True))
        new_products, plans = [], []
        for position, line in enumerate(CATALOG):
            leaf_cat = category(line.leaf, category(line.parent, None, position), position)
            low, high = line.price
            for i, name in enumerate(_names(line)):
                slug = f"{slugify(name)}-{slugify(line.leaf)}-{i + 1}"
                price = rng.randrange(low, high, 100) - 1
                variants = _variants_for(line, rng)
                material = _material(line, name, rng)
                stock_profile = rng.random()
                if slug in existing:
                    continue
                attributes = {"material": material.capitalize(), "care": line.care}
                if line.options in ("size", "none"):
                    attributes["colour"] = rng.choice(line.colours)  # the picture's colour
                product = Product(
                    name=name,
                    slug=slug,
                    category=leaf_cat,
                    description=(
                        line.pitch.format(name=name.lower(), material=material)[:1].upper()
                        + line.pitch.format(name=name.lower(), material=material)[1:]
                        + " Free returns within 30 days."
                    ),
                    attributes=attributes,
                )
                new_products.append(product)
                plans.append((product, variants, price, line.weight_grams, stock_profile))
        Product.objects.bulk_create(new_products)
        result.products = len(new_products)

        images, new_variants, variant_plans = [], [], []
        for product, variants, price, weight, profile in plans:
            images.append(ProductImage(product=product, url=placeholder_path(product.slug), alt=product.name))
            for position, (label, options) in enumerate(variants):
                code = "".join(w[0] for w in product.name.split()).upper()
                sku = f"{code}-{product.pk:04d}-{position + 1}"
                variant = Variant(
                    product=product,
                    sku=sku,
                    name=label,
                    options=options,
                    price_minor=price + 200 * (position % 2),
                    currency="USD",
                    weight_grams=weight,
                    barcode=f"400{product.pk:06d}{position:02d}",
                    position=position,
                )
                new_variants.append(variant)
                variant_plans.append((variant, profile))
        ProductImage.objects.bulk_create(images)
        Variant.objects.bulk_create(new_variants)
        result.variants = len(new_variants)

        stocks = []
        for variant, profile in variant_plans:
            for warehouse in warehouses:
                if profile < 0.06:
                    on_hand = 0  # sold out everywhere
                elif profile < 0.18:
                    on_hand = rng.choice([0, 1, 2, 3])  # running low
                else:
                    on_hand = rng.choice([0, rng.randint(4, 20), rng.randint(20, 120)])
                stocks.append(Stock(variant=variant, warehouse=warehouse, on_hand=on_hand, low_stock_threshold=5))
        Stock.objects.bulk_create(stocks)
        result.stock_rows = len(stocks)
        StockMovement.objects.bulk_create(
            [
                StockMovement(
                    stock=s,
                    reason=StockMovement.Reason.RECEIPT,
                    quantity=s.on_hand,
                    on_hand_after=s.on_hand,
                    reference="demo-seed",
                    note="demo stock",
                )
                for s in stocks
                if s.on_hand
            ]
        )
        if EARLY_ACCESS_SLUG not in existing:
            _early_access_product_create(categories["hoodies"], warehouses, result)
        if result.products:
            catalog_cache.invalidate([catalog_cache.LISTS, *(catalog_cache.category_dep(s) for s in categories)])
    return result


def _early_access_product_create(category: Category, warehouses: list[Warehouse], result: SeedResult) -> None:
    """The demo's new arrival: members' early access since yesterday, everyone's in two weeks."""
    now = timezone.now()
    product = Product.objects.create(
        name="Members' Preview Merino Hoodie",
        slug=EARLY_ACCESS_SLUG,
        category=category,
        description=(
            "This season's hoodie in fine merino, in members' early access before it goes on sale to everyone."
        ),
        attributes={"material": "Merino", "care": "Cold wash", "colour": "Forest"},
        early_access_at=now - timedelta(days=1),
        on_sale_at=now + timedelta(days=14),
    )
    ProductImage.objects.create(product=product, url=placeholder_path(product.slug), alt=product.name)
    for position, size in enumerate(["S", "M", "L"]):
        variant = Variant.objects.create(
            product=product,
            sku=f"MPMH-{size}",
            name=size,
            options={"size": size},
            price_minor=8900,
            currency="USD",
            weight_grams=550,
            position=position,
        )
        stock = Stock.objects.create(variant=variant, warehouse=warehouses[0], on_hand=25, low_stock_threshold=5)
        StockMovement.objects.create(
            stock=stock,
            reason=StockMovement.Reason.RECEIPT,
            quantity=25,
            on_hand_after=25,
            reference="demo-seed",
            note="demo stock",
        )
        result.variants += 1
        result.stock_rows += 1
    result.products += 1
