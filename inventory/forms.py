"""Storefront forms of the inventory app."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.conf import settings

from flowmart.money import Money
from inventory.models import StockMovement
from inventory.search import CatalogQuery

SORT_CHOICES = [
    ("relevance", "Best match"),
    ("price", "Price: low to high"),
    ("-price", "Price: high to low"),
    ("name", "Name: A–Z"),
    ("newest", "Newest"),
]


class CatalogFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200)
    min_price = forms.DecimalField(label="Min price", required=False, min_value=0, max_digits=9, decimal_places=2)
    max_price = forms.DecimalField(label="Max price", required=False, min_value=0, max_digits=9, decimal_places=2)
    in_stock = forms.BooleanField(label="In stock only", required=False)
    sort = forms.ChoiceField(label="Sort by", choices=SORT_CHOICES, required=False)
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        low, high = data.get("min_price"), data.get("max_price")
        if low is not None and high is not None and low > high:
            self.add_error("max_price", "The maximum must not be below the minimum.")
        return data

    def catalog_query(self, *, category: str = "", member_early_access: bool = False) -> CatalogQuery:
        """The query from whatever fields are valid (an invalid field is shown as an error and ignored)."""
        data = getattr(self, "cleaned_data", {}) or {}
        currency = settings.SHOP_CURRENCY

        def minor(value: Decimal | None) -> int | None:
            return None if value is None else Money.from_decimal(value, currency).amount_minor

        return CatalogQuery.from_params(
            {
                "q": data.get("q", ""),
                "category": category,
                "min_price": minor(data.get("min_price")) if "max_price" not in self.errors else None,
                "max_price": minor(data.get("max_price")) if "max_price" not in self.errors else None,
                "in_stock": data.get("in_stock", False),
                "sort": data.get("sort") or "relevance",
            },
            member_early_access=member_early_access,
        )

    @property
    def page_number(self) -> int:
        data = getattr(self, "cleaned_data", {}) or {}
        return data.get("page") or 1


# --- Staff forms (admin) ------------------------------------------------------------------

ADJUSTMENT_REASONS = [
    (StockMovement.Reason.ADJUSTMENT, "Adjustment (damaged, lost, found)"),
    (StockMovement.Reason.RECEIPT, "Receipt (goods arrived)"),
    (StockMovement.Reason.RETURN, "Return (back on the shelf)"),
    (StockMovement.Reason.CORRECTION, "Correction (stock count)"),
]


class StockAdjustmentForm(forms.Form):
    sku = forms.CharField(label="SKU", max_length=64)
    warehouse = forms.ChoiceField(choices=())
    quantity = forms.IntegerField(help_text="Signed: -3 takes three units off the shelf, 5 adds five.")
    reason = forms.ChoiceField(choices=ADJUSTMENT_REASONS)
    note = forms.CharField(max_length=255, required=False, help_text="Why (shown in the ledger)")

    def __init__(self, *args, warehouses: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].choices = warehouses

    def clean_quantity(self):
        value = self.cleaned_data["quantity"]
        if value == 0:
            raise forms.ValidationError("Enter a quantity other than zero.")
        return value


class StockTransferForm(forms.Form):
    sku = forms.CharField(label="SKU", max_length=64)
    from_warehouse = forms.ChoiceField(choices=())
    to_warehouse = forms.ChoiceField(choices=())
    quantity = forms.IntegerField(min_value=1)
    note = forms.CharField(max_length=255, required=False, help_text="Why (shown in the ledger)")

    def __init__(self, *args, warehouses: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from_warehouse"].choices = warehouses
        self.fields["to_warehouse"].choices = warehouses

    def clean(self):
        data = super().clean()
        if data.get("from_warehouse") and data.get("from_warehouse") == data.get("to_warehouse"):
            self.add_error("to_warehouse", "Pick a different warehouse.")
        return data


class CsvImportForm(forms.Form):
    file = forms.FileField(help_text="UTF-8 CSV with a header row")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 10 * 1024 * 1024:
            raise forms.ValidationError("The file is larger than 10 MB.")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text.") from None
