"""Storefront forms of the shipping app."""

from __future__ import annotations

from django import forms

from shipping.models import ReturnRequest


class TrackingLookupForm(forms.Form):
    number = forms.CharField(label="Tracking number", max_length=64)


class TrackingByOrderForm(forms.Form):
    """No tracking number at hand: the order number and the email the order was placed with."""

    order_number = forms.CharField(label="Order number", max_length=32)
    email = forms.EmailField(label="Email used for the order", max_length=254)


class ReturnRequestForm(forms.Form):
    """One quantity field per returnable line (``qty_<index>``), plus the reason."""

    reason_code = forms.ChoiceField(
        label="What is wrong?",
        choices=ReturnRequest.ReasonCode.choices,
        initial=ReturnRequest.ReasonCode.OTHER,
        required=False,
    )
    reason = forms.CharField(
        label="Why are you returning these items?", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )

    def __init__(self, *args, returnable: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.returnable = returnable
        for index, line in enumerate(returnable):
            self.fields[f"qty_{index}"] = forms.IntegerField(
                label=f"{line['name'] or line['sku']} ({line['sku']})",
                min_value=0,
                max_value=line["quantity"],
                initial=0,
                help_text=f"Up to {line['quantity']}",
            )
        self.order_fields([f"qty_{i}" for i in range(len(returnable))] + ["reason_code", "reason"])

    def clean(self):
        cleaned = super().clean()
        lines = [
            {"sku": line["sku"], "quantity": cleaned.get(f"qty_{index}") or 0}
            for index, line in enumerate(self.returnable)
        ]
        cleaned["lines"] = [line for line in lines if line["quantity"] > 0]
        cleaned["reason_code"] = cleaned.get("reason_code") or ReturnRequest.ReasonCode.OTHER
        if not self.errors and not cleaned["lines"]:
            raise forms.ValidationError("Choose at least one item to return.")
        return cleaned
