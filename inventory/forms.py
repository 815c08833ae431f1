"""Storefront forms of the inventory app."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.conf import settings

from flowmart.money import Money
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

    def catalog_query(self, *, category: str = "") -> CatalogQuery:
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
            }
        )

    @property
    def page_number(self) -> int:
        data = getattr(self, "cleaned_data", {}) or {}
        return data.get("page") or 1
