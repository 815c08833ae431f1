"""Forms of the payments app (the admin's capture / void / refund buttons)."""

from __future__ import annotations

import uuid

from django import forms

from flowmart.payment_token_field import PaymentTokenField


class CaptureForm(forms.Form):
    amount_minor = forms.IntegerField(min_value=1, required=False, help_text="Minor units; empty captures it all")


class VoidForm(forms.Form):
    reason = forms.CharField(max_length=255)


class RefundForm(forms.Form):
    amount_minor = forms.IntegerField(min_value=1, help_text="Minor units")
    reason = forms.CharField(max_length=255)
    # Rendered hidden in the form, so a double-submitted button refunds once.
    idempotency_key = forms.CharField(max_length=255, initial=lambda: f"admin-{uuid.uuid4()}", widget=forms.HiddenInput)


class SavedCardForm(forms.Form):
    # The card element's token (see flowmart/payment_token_field.py): the card number never reaches us.
    token = PaymentTokenField()


class DisputeEvidenceForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        max_length=20000,
        help_text="Our side: what was ordered, when and where it was delivered, what the customer was told.",
    )
    file_description = forms.CharField(
        max_length=500,
        required=False,
        label="Supporting document",
        help_text="Optional: describe the document you hold (e.g. carrier's signed proof of delivery).",
    )
