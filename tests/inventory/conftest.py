import pytest

from inventory import services
from tests.inventory.factories import ProductFactory, VariantFactory, WarehouseFactory


@pytest.fixture
def warehouses(db):
    """Three warehouses: east ships first, then central, then west."""
    return {
        "east": WarehouseFactory(code="east", name="East", priority=10),
        "central": WarehouseFactory(code="central", name="Central", priority=20),
        "west": WarehouseFactory(code="west", name="West", priority=30),
    }


@pytest.fixture
def stock_up(warehouses):
    """``stock_up("SKU", east=5, west=2)``: a variant (created if needed) with units received per warehouse."""

    def _stock_up(sku: str, *, price_minor: int = 1999, product=None, threshold: int = 2, **per_warehouse: int):
        from inventory.models import Stock, Variant

        variant = Variant.objects.filter(sku=sku).first() or VariantFactory(
            sku=sku, price_minor=price_minor, product=product or ProductFactory()
        )
        for code, qty in per_warehouse.items():
            Stock.objects.update_or_create(
                variant=variant, warehouse=warehouses[code], defaults={"low_stock_threshold": threshold}
            )
            if qty:
                services.stock_receive(sku=sku, warehouse_code=code, quantity=qty, reference="initial")
        return variant

    return _stock_up
