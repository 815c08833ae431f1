"""Prepare the oscar sandbox database for the journey (run by ``bench/oscar_journey.py`` in oscar's venv).

    DATABASE_NAME=… python seed.py CUSTOMERS PRODUCTS

The sandbox builds its shop from fixtures in its repository (books, images); this makes the few things the
journey needs instead: the countries (the sandbox's ``oscar_populate_countries``, all shipping countries),
PRODUCTS standalone products with a partner stock record of a million units each (restocked on every run), and
CUSTOMERS customer accounts that sign in with their email. Shipping and payment are the sandbox's own: one free
shipping method (chosen for the shopper) and the default payment step, which takes no payment. Prints the
products (URL and id) and the customers' emails as JSON.
"""

import json
import os
import sys
from decimal import Decimal

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from oscar.core.loading import get_model  # noqa: E402

PASSWORD = "bench-oscar-password"  # noqa: S105  (a local benchmark's throw-away accounts)
STOCK = 1_000_000

Country = get_model("address", "Country")
Partner = get_model("partner", "Partner")
ProductClass = get_model("catalogue", "ProductClass")
Product = get_model("catalogue", "Product")
StockRecord = get_model("partner", "StockRecord")


def main(customers: int, products: int) -> None:
    if not Country.objects.exists():
        call_command("oscar_populate_countries", verbosity=0)
    partner, _ = Partner.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    kind, _ = ProductClass.objects.get_or_create(
        slug="bench", defaults={"name": "Bench", "requires_shipping": True, "track_stock": True}
    )
    catalog = []
    for i in range(1, products + 1):
        sku = f"BENCH-{i}"
        product, _ = Product.objects.get_or_create(
            upc=sku, defaults={"title": f"Bench item {sku}", "product_class": kind, "structure": "standalone"}
        )
        record, _ = StockRecord.objects.get_or_create(
            product=product,
            partner=partner,
            defaults={"partner_sku": sku, "price": Decimal("15.00"), "price_currency": "GBP", "num_in_stock": 0},
        )
        record.num_in_stock = (record.num_allocated or 0) + STOCK
        record.save(update_fields=["num_in_stock"])
        catalog.append({"url": product.get_absolute_url(), "id": product.pk})
    User = get_user_model()
    emails = []
    for i in range(1, customers + 1):
        email = f"bench-oscar-{i}@example.com"
        user, created = User.objects.get_or_create(username=f"bench-oscar-{i}", defaults={"email": email})
        if created:
            user.set_password(PASSWORD)
            user.save()
        emails.append(email)
    print(json.dumps({"products": catalog, "customers": emails, "password": PASSWORD}))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
