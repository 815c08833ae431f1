"""Forms of the shipping app: the storefront's, and the staff actions' input (shipping/staff_actions.py)."""

from __future__ import annotations

from django import forms

from shipping.models import ReturnLine, ReturnRequest


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


class RejectForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)


class ReceiveForm(forms.Form):
    decision = forms.ChoiceField(choices=ReturnRequest.Decision.choices, widget=forms.RadioSelect)
    replacements = forms.CharField(
        required=False,
        help_text="Exchange only: one 'RETURNED-SKU=REPLACEMENT-SKU' per line; unlisted skus are replaced by the same sku.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    shop_at_fault = forms.NullBooleanField(
        required=False,
        help_text="Damaged in transit or the wrong item: the shipping charge is refunded too. Unknown: the "
        "customer's reason decides (arrived damaged / wrong item).",
    )
    conditions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Unlisted skus are resellable. One 'SKU=damaged' or 'SKU=missing' per line; add ': why' to "
        "not refund it, e.g. 'TEE-M=damaged: worn, tags removed' (damaged units are refunded unless you say why not).",
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Inspection notes")
    # Per-line inspection, as the staff API sends it: [{"line_id", "quantity", "condition", "not_refundable_reason"?}].
    lines = forms.JSONField(required=False, widget=forms.HiddenInput)

    def clean_conditions(self):
        parsed = {}
        for raw in self.cleaned_data["conditions"].splitlines():
            if not raw.strip():
                continue
            sku, _, rest = raw.partition("=")
            condition, _, why = rest.partition(":")
            if not sku.strip() or condition.strip() not in ReturnLine.Condition.values:
                raise forms.ValidationError(
                    f"'{raw.strip()}' is not SKU=condition (one of {', '.join(ReturnLine.Condition.values)})."
                )
            parsed[sku.strip()] = {"condition": condition.strip(), "not_refundable_reason": why.strip()}
        return parsed

    def clean_replacements(self):
        mapping = {}
        for raw in self.cleaned_data["replacements"].splitlines():
            if not raw.strip():
                continue
            if "=" not in raw:
                raise forms.ValidationError(f"'{raw.strip()}' is not SKU=REPLACEMENT.")
            old, new = (part.strip() for part in raw.split("=", 1))
            if not old or not new:
                raise forms.ValidationError(f"'{raw.strip()}' is not SKU=REPLACEMENT.")
            mapping[old] = new
        return mapping

    def clean_lines(self):
        lines = self.cleaned_data.get("lines") or []
        if not isinstance(lines, list):
            raise forms.ValidationError("A list of {line_id, quantity, condition}.")
        for line in lines:
            ok = (
                isinstance(line, dict)
                and isinstance(line.get("line_id"), int)
                and isinstance(line.get("quantity"), int)
                and line["quantity"] > 0
                and line.get("condition") in ReturnLine.Condition.values
                and isinstance(line.get("not_refundable_reason", ""), str)
            )
            if not ok:
                raise forms.ValidationError(
                    f"{line!r}: each line needs line_id, quantity (> 0) and condition "
                    f"({', '.join(ReturnLine.Condition.values)})."
                )
        return lines


def inspection_note(data: dict) -> str:
    """A receive form's notes, with one line per inspected return line (``ReceiveForm.cleaned_data``)."""
    per_line = [f"line {x['line_id']} × {x['quantity']}: {x['condition'].strip()}" for x in data.get("lines") or []]
    return "\n".join([data.get("note", ""), *per_line]).strip()
