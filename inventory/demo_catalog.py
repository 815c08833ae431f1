"""A believable demo shop for ``manage.py seed_demo``: ~220 products, variants, three warehouses.

Idempotent (only what is missing is created) and fast (bulk inserts). Stock goes in as
``receipt`` ledger rows, so the stock figures equal the ledger from the start. Some SKUs are
deliberately low (at or below their threshold) and some out of stock everywhere. One new arrival is
in members' early access (``EARLY_ACCESS_SLUG``: members may buy it since yesterday, everyone in two
weeks from the first seed).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

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

# parent, leaf, nouns, price range (minor units), weight grams, option kind
CATALOG = [
    ("Clothing", "T-shirts", ["Tee", "Crew Tee", "V-Neck Tee", "Pocket Tee"], (1500, 3500), 180, "apparel"),
    ("Clothing", "Hoodies", ["Hoodie", "Zip Hoodie", "Pullover"], (4500, 8900), 550, "apparel"),
    ("Clothing", "Jackets", ["Rain Jacket", "Field Jacket", "Puffer Jacket"], (7900, 19900), 800, "apparel"),
    ("Home & Kitchen", "Mugs", ["Mug", "Travel Mug", "Espresso Cup"], (900, 2900), 350, "colour"),
    ("Home & Kitchen", "Cookware", ["Skillet", "Saucepan", "Dutch Oven", "Wok"], (2900, 14900), 2200, "size"),
    ("Home & Kitchen", "Bedding", ["Duvet Cover", "Pillowcase Set", "Throw Blanket"], (2900, 12900), 1200, "size"),
    ("Outdoors", "Backpacks", ["Daypack", "Rucksack", "Sling Bag"], (3900, 15900), 900, "colour"),
    ("Outdoors", "Camping", ["Tent", "Sleeping Bag", "Camp Stove", "Lantern"], (2900, 29900), 1800, "none"),
    ("Electronics", "Audio", ["Headphones", "Earbuds", "Speaker"], (2900, 24900), 300, "colour"),
    ("Electronics", "Charging", ["USB-C Charger", "Power Bank", "Cable"], (900, 5900), 150, "none"),
]
ADJECTIVES = ["Everyday", "Classic", "Trail", "Urban", "Heritage", "Featherweight", "Organic"]
MATERIALS = ["Cotton", "Linen", "Merino", "Recycled", "Stoneware", "Cast Iron", "Bamboo", "Canvas"]
COLOURS = ["Black", "Navy", "Sand", "Forest", "Rust"]
SIZES = ["S", "M", "L", "XL"]
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


def _variants_for(kind: str, rng: random.Random) -> list[tuple[str, dict]]:
    if kind == "apparel":
        colours = rng.sample(COLOURS, 2)
        return [(f"{s} / {c}", {"size": s, "colour": c}) for c in colours for s in rng.sample(SIZES, 2)]
    if kind == "colour":
        return [(c, {"colour": c}) for c in rng.sample(COLOURS, 2)]
    if kind == "size":
        return [(s, {"size": s}) for s in ("Small", "Large")]
    return [("Standard", {})]


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
        for position, (parent_name, leaf, nouns, (low, high), weight, kind) in enumerate(CATALOG):
            leaf_cat = category(leaf, category(parent_name, None, position), position)
            for i in range(22):
                name = f"{ADJECTIVES[i % len(ADJECTIVES)]} {rng.choice(MATERIALS)} {nouns[i % len(nouns)]}"
                slug = f"{slugify(name)}-{slugify(leaf)}-{i + 1}"
                price = rng.randrange(low, high, 100) - 1
                variants = _variants_for(kind, rng)
                stock_profile = rng.random()
                if slug in existing:
                    continue
                product = Product(
                    name=name,
                    slug=slug,
                    category=leaf_cat,
                    description=(
                        f"The {name.lower()} from our {leaf.lower()} range: made to last, easy to care for, "
                        f"and backed by our 30-day returns."
                    ),
                    attributes={"material": name.split()[1], "care": "See label"},
                )
                new_products.append(product)
                plans.append((product, variants, price, weight, stock_profile))
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
        description="This season's hoodie, in members' early access before it goes on sale to everyone.",
        attributes={"material": "Merino", "care": "Cold wash"},
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
