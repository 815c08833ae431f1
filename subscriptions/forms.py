"""Storefront forms of the subscriptions app: input shape only."""

from django import forms


class SubscribeForm(forms.Form):
    payment_method = forms.CharField(
        max_length=200,
        label="Card token",
        initial="pm_card_visa",
        help_text="Sandbox: pm_card_visa succeeds, pm_card_chargeDeclinedInsufficientFunds is declined.",
    )


class ChangePlanForm(forms.Form):
    plan = forms.SlugField(max_length=60)


class CancelForm(forms.Form):
    at_period_end = forms.BooleanField(required=False)
