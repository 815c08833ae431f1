"""Storefront forms of the notifications app."""

from __future__ import annotations

from django import forms

from notifications.kinds import Category, Channel
from notifications.preferences import CHANNELS, CUSTOMER_CATEGORIES


def field_name(category: str, channel: str) -> str:
    return f"{category}__{channel}"


class PreferencesForm(forms.Form):
    """One checkbox per customer category and channel."""

    def __init__(self, *args, matrix: dict[str, dict[str, bool]], **kwargs):
        super().__init__(*args, **kwargs)
        for category in CUSTOMER_CATEGORIES:
            for channel in CHANNELS:
                self.fields[field_name(category, channel)] = forms.BooleanField(
                    required=False,
                    initial=matrix[category][channel],
                    label=f"{Category(category).label} by {Channel(channel).label}",
                )

    def rows(self):
        for category in CUSTOMER_CATEGORIES:
            yield Category(category).label, [self[field_name(category, channel)] for channel in CHANNELS]

    def matrix(self) -> dict[str, dict[str, bool]]:
        return {
            category: {channel: self.cleaned_data[field_name(category, channel)] for channel in CHANNELS}
            for category in CUSTOMER_CATEGORIES
        }


class FeedbackForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=[(i, str(i)) for i in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
        label="How would you rate your order? (5 = excellent)",
    )
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=4000)


class BackInStockForm(forms.Form):
    sku = forms.CharField(max_length=64)
    email = forms.EmailField(required=False, max_length=254)
