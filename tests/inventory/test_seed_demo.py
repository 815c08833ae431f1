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
