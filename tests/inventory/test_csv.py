"""CSV import/export: validated row by row with line numbers, all or nothing."""

import pytest
from django.core.management import CommandError, call_command

from inventory import csv_io, selectors
from inventory.models import Product, StockMovement, Variant

HEADER = "category_slug,category_name,parent_category_slug,product_slug,product_name,description,sku,variant_name,options,price_minor,currency,weight_grams,barcode,active,image_url\n"


def test_catalog_import_creates_and_updates(db):
    text = HEADER + (
        "clothing,Clothing,,linen-tee,Linen Tee,Cool,TEE-S,S,size=S,2500,USD,180,123,1,https://img.test/tee.jpg\n"
        "clothing,Clothing,,linen-tee,Linen Tee,Cool,TEE-M,M,size=M,2600,USD,190,124,1,\n"
    )
    result = csv_io.catalog_import_csv(text=text)
    assert (result.created, result.updated) == (2, 0)
    assert Variant.objects.get(sku="TEE-M").options == {"size": "M"}

    result = csv_io.catalog_import_csv(text=text.replace(",2600,", ",2700,"))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    assert selectors.variant_get_by_sku(sku="TEE-M").price_minor == 2700


def test_a_bad_row_is_reported_with_its_line_and_nothing_is_imported(db):
    text = HEADER + (
        "clothing,Clothing,,linen-tee,Linen Tee,,TEE-S,S,,2500,USD,180,,1,\n"
        "clothing,Clothing,,linen-tee,Linen Tee,,TEE-M,M,,cheap,USD,180,,1,\n"
        "clothing,Clothing,,linen-tee,Linen Tee,,TEE-S,S,,2500,usd1,180,,1,\n"
    )
    with pytest.raises(csv_io.CsvImportError) as exc:
        csv_io.catalog_import_csv(text=text)
    assert exc.value.errors == [
        "line 3: price_minor must be a whole number, not 'cheap'",
        "line 4: SKU TEE-S already appears on line 2",
        "line 4: currency 'USD1' is not an ISO 4217 code",
    ]
    assert not Product.objects.exists()


def test_stock_import_sets_counted_figures_through_the_ledger(stock_up):
    stock_up("TEE-M", east=5)
    text = "sku,warehouse,on_hand,low_stock_threshold\nTEE-M,east,8,3\nTEE-M,west,4,1\n"

    result = csv_io.stock_import_csv(text=text)

    assert (result.created, result.updated) == (1, 1)
    levels = {
        lvl.warehouse_code: (lvl.on_hand, lvl.low_stock_threshold)
        for lvl in selectors.stock_levels_for_sku(sku="TEE-M")
    }
    assert levels == {"east": (8, 3), "west": (4, 1)}
    assert StockMovement.objects.filter(reason="correction").count() == 2
    assert selectors.stock_ledger_mismatches() == []


def test_stock_import_is_all_or_nothing(stock_up):
    stock_up("TEE-M", east=5)
    text = "sku,warehouse,on_hand,low_stock_threshold\nTEE-M,east,9,\nNOPE,east,1,\nTEE-M,mars,-1,\n"
    with pytest.raises(csv_io.CsvImportError) as exc:
        csv_io.stock_import_csv(text=text)
    assert exc.value.errors == [
        "line 3: unknown SKU 'NOPE'",
        "line 4: unknown warehouse 'mars'",
        "line 4: on_hand must be at least 0",
    ]
    assert selectors.available_quantity(sku="TEE-M") == 5


def test_export_round_trips_and_the_command_reports_errors(stock_up, tmp_path):
    stock_up("TEE-M", east=5)
    exported = csv_io.catalog_export_csv()
    assert exported.splitlines()[0] == HEADER.strip()
    assert csv_io.catalog_import_csv(text=exported).unchanged == 1
    assert csv_io.stock_export_csv().splitlines()[1] == "TEE-M,east,5,2,0,5"

    bad = tmp_path / "stock.csv"
    bad.write_text("sku,warehouse,on_hand\nTEE-M,east,x\n")
    with pytest.raises(CommandError, match="line 2: on_hand must be a whole number"):
        call_command("inventory_csv", "import", "stock", str(bad))
    good = tmp_path / "out.csv"
    call_command("inventory_csv", "export", "stock", str(good))
    assert "TEE-M,east,5" in good.read_text()
