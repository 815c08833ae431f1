from django.core.management import call_command

from inventory import selectors
from inventory.models import Category, Product, Stock, Variant, Warehouse


def test_seed_demo_builds_a_believable_shop_once(db):
    call_command("seed_demo")
    counts = (Product.objects.count(), Variant.objects.count(), Stock.objects.count())
    call_command("seed_demo")

    assert (Product.objects.count(), Variant.objects.count(), Stock.objects.count()) == counts
    assert counts[0] >= 200
    assert Category.objects.filter(parent__isnull=True).count() >= 4
    assert list(Warehouse.objects.values_list("code", flat=True)) == ["east", "central", "west"]
    assert selectors.low_stock_queryset().filter(on_hand__gt=0).exists()
    sold_out = [v.sku for v in Variant.objects.all()[:400] if selectors.available_quantity(sku=v.sku) == 0]
    assert sold_out
    assert selectors.stock_ledger_mismatches() == []


def test_demo_products_make_sense_for_their_category(db):
    call_command("seed_demo", verbosity=0)
    # Words that belong to one category only: no "Cast Iron Hoodie", no "Merino Skillet".
    owned = {"Cast Iron": "cookware", "Skillet": "cookware", "Hoodie": "hoodies", "Mug": "mugs", "Tee": "t-shirts"}
    for product in Product.objects.select_related("category"):
        for word, category in owned.items():
            if word in product.name.split() or word in product.name:
                assert product.category.slug == category or product.slug == "members-preview-merino-hoodie", (
                    product.name
                )
        material = product.attributes["material"].lower()
        assert material in product.description.lower(), product.name
    skillet = Product.objects.get(slug="cast-iron-skillet-cookware-1")
    assert skillet.attributes["material"] == "Cast iron"
    assert skillet.description.startswith("A cast iron skillet for every hob")
    tee_sizes = set(Variant.objects.filter(product__category__slug="t-shirts").values_list("options__size", flat=True))
    assert tee_sizes <= {"S", "M", "L", "XL"}
    assert not Variant.objects.filter(product__category__slug="mugs", options__has_key="size").exists()
