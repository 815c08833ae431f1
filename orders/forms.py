"""Storefront forms of the orders app: shape checks only; rules live in services."""

from __future__ import annotations

from django import forms
from django.conf import settings

from flowmart.payment_token_field import PaymentTokenField
from orders.checkout import ADDRESS_FIELDS, REQUIRED_ADDRESS_FIELDS

ADDRESS_LABELS = {
    "name": "Deliver to (full name)",
    "line1": "Address line 1",
    "line2": "Address line 2",
    "city": "City",
    "region": "State / region",
    "postal_code": "Postal code",
    "country": "Country (2-letter code)",
    "phone": "Phone",
}


class BasketAddForm(forms.Form):
    sku = forms.CharField(max_length=64)
    # The most per line is the services' rule (settings.BASKET_MAX_QUANTITY, also the pages' input max).
    quantity = forms.IntegerField(min_value=1, initial=1)


class BasketLineForm(forms.Form):
    quantity = forms.IntegerField(min_value=0)


class CheckoutForm(forms.Form):
    """The one-page checkout: contact (guests), delivery address, delivery method and the card's token.

    Which delivery methods exist depends on the address, so the form only checks that one was chosen; whether it
    is offered there is the preview's answer (``ShippingMethodUnavailable``), shown on the field by the view.
    """

    email = forms.EmailField(required=False, label="Email for your receipt")
    saved_address = forms.ChoiceField(required=False, label="Use a saved address")
    name = forms.CharField(max_length=150, required=False, label="Full name")
    line1 = forms.CharField(max_length=200, required=False, label="Address line 1")
    line2 = forms.CharField(max_length=200, required=False, label="Address line 2")
    city = forms.CharField(max_length=100, required=False)
    region = forms.CharField(max_length=100, required=False, label="State / region")
    postal_code = forms.CharField(max_length=20, required=False, label="Postal code")
    country = forms.ChoiceField(required=False, initial="US", label="Country")
    phone = forms.CharField(max_length=32, required=False)
    shipping_method = forms.CharField(max_length=64, error_messages={"required": "Choose a delivery method."})
    payment_method = PaymentTokenField()

    # What delivery is quoted for (orders.pricing: country, postal code, city): the page re-quotes when one changes.
    QUOTED_BY = ("saved_address", "country", "postal_code", "city")
    # Kept in the session when a checkout sends the shopper to the basket, to fill the page on their return.
    KEPT = ("email", "saved_address", *ADDRESS_FIELDS, "shipping_method")

    def __init__(self, *args, saved_addresses=(), guest: bool = False, countries=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = [("", "Choose a country"), *countries]  # the countries the zones serve
        self.saved_addresses = {str(a.public_id): a for a in saved_addresses}
        self.guest = guest
        if self.saved_addresses:
            self.fields["saved_address"].choices = [("", "Enter a new address")] + [
                (key, str(a)) for key, a in self.saved_addresses.items()
            ]
        else:
            del self.fields["saved_address"]
        if not guest:
            del self.fields["email"]
        for name in self.QUOTED_BY:
            if name in self.fields:
                self.fields[name].widget.attrs["data-requote"] = ""

    @property
    def address_fields(self) -> list:
        return [self[name] for name in ADDRESS_FIELDS]

    def entered(self, name: str) -> str:
        """A field's value as entered (posted, or the initial value), before validation."""
        if self.is_bound:
            return str(self.data.get(name) or "")
        if name not in self.fields:
            return str(self.initial.get(name) or "")
        return str(self.get_initial_for_field(self.fields[name], name) or "")

    def delivery_address(self) -> dict:
        """The address as entered so far (the saved one if chosen), which delivery is quoted for."""
        saved = self.saved_addresses.get(self.entered("saved_address"))
        if saved is not None:
            return saved.as_payload()
        return _address_payload({f: self.entered(f) for f in ADDRESS_FIELDS})

    def clean(self):
        data = super().clean()
        if self.guest and not data.get("email") and "email" not in self.errors:
            self.add_error("email", "We need your email address to send the receipt.")
        chosen = data.get("saved_address")
        if chosen:
            data["address"] = self.saved_addresses[chosen].as_payload()
            return data
        for field in REQUIRED_ADDRESS_FIELDS:
            if not data.get(field) and field not in self.errors:
                self.add_error(field, "This field is required.")
        data["address"] = _address_payload(data)
        return data


def _address_payload(values: dict) -> dict:
    address = {f: str(values.get(f) or "").strip() for f in ADDRESS_FIELDS}
    address["country"] = address["country"].upper()
    return address


class PaymentForm(forms.Form):
    """The token the card element made in the browser, or a saved card's token."""

    payment_method = PaymentTokenField()

    def __init__(self, *args, saved_methods=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.saved_methods = list(saved_methods)


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=255, required=False)


class DeliveryChoiceForm(forms.Form):
    choice = forms.ChoiceField(choices=[("redeliver", "Deliver again"), ("pickup", "Collect from the pick-up point")])


class AmendForm(forms.Form):
    """One quantity field per order line (``qty_<sku>``)."""

    def __init__(self, *args, order=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = list(order.lines.all()) if order is not None else []
        for line in self.lines:
            self.fields[f"qty_{line.sku}"] = forms.IntegerField(
                min_value=0, max_value=settings.BASKET_MAX_QUANTITY, initial=line.quantity, label=line.name
            )

        address = order.shipping_address if order is not None else {}
        for field in ADDRESS_FIELDS:
            self.fields[f"address_{field}"] = forms.CharField(
                max_length=200,
                required=field in ("name", "line1", "city", "postal_code", "country"),
                initial=address.get(field, ""),
                label=ADDRESS_LABELS[field],
            )

    def quantities(self) -> dict[str, int]:
        return {line.sku: self.cleaned_data[f"qty_{line.sku}"] for line in self.lines}

    def address(self) -> dict:
        return {field: self.cleaned_data[f"address_{field}"].strip() for field in ADDRESS_FIELDS}


class ExchangeForm(forms.Form):
    """Per exchangeable line: how many (``qty_<i>``) and for which variant (``replacement_<i>``); the reason."""

    reason_code = forms.ChoiceField(label="What is wrong?")
    reason = forms.CharField(label="Tell us more", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)

    def __init__(self, *args, options: list[dict], reason_codes: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.options = options
        self.fields["reason_code"].choices = reason_codes
        for index, line in enumerate(options):
            self.fields[f"qty_{index}"] = forms.IntegerField(
                label=f"{line['name'] or line['sku']} ({line['sku']}): how many",
                min_value=0,
                max_value=line["quantity"],
                initial=0,
            )
            self.fields[f"replacement_{index}"] = forms.ChoiceField(label="Exchange for", choices=line["replacements"])
        fields = [name for i in range(len(options)) for name in (f"qty_{i}", f"replacement_{i}")]
        self.order_fields([*fields, "reason_code", "reason"])

    def clean(self):
        cleaned = super().clean()
        cleaned["lines"] = [
            {
                "sku": line["sku"],
                "quantity": cleaned.get(f"qty_{i}"),
                "replacement_sku": cleaned.get(f"replacement_{i}"),
            }
            for i, line in enumerate(self.options)
            if cleaned.get(f"qty_{i}")
        ]
        if not self.errors and not cleaned["lines"]:
            raise forms.ValidationError("Choose at least one item to exchange.")
        return cleaned


class OrderLookupForm(forms.Form):
    """A guest's way back to an order: its number and the email it was placed with."""

    number = forms.CharField(label="Order number", max_length=32, help_text="Like FM-7Q2K9D4X, in your confirmation")
    email = forms.EmailField(label="Email used for the order", max_length=254)
