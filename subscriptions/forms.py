"""Storefront forms of the subscriptions app: input shape only."""

from django import forms

from flowmart.payment_token_field import PaymentTokenField


class SubscribeForm(forms.Form):
    payment_method = PaymentTokenField()


class ChangePlanForm(forms.Form):
    plan = forms.SlugField(max_length=60)


class CancelForm(forms.Form):
    at_period_end = forms.BooleanField(required=False)
