"""The errors the orders app answers with: each a problem document (code, status, title) for the API and a
message for the storefront."""

from __future__ import annotations

from flowmart.errors import Conflict, FlowMartError, InvalidTransition


class CheckoutInvalid(FlowMartError):
    code = "checkout_invalid"
    status = 400
    title = "The checkout details are incomplete"


class BasketEmpty(CheckoutInvalid):
    code = "basket_empty"
    title = "Your basket is empty"


class BasketChanged(Conflict):
    code = "basket_changed"
    title = "Your basket changed"


class CheckoutInProgress(Conflict):
    code = "checkout_in_progress"
    title = "A checkout of this basket is already in progress"


class OrderActionNotAllowed(InvalidTransition):
    pass


class CheckoutFailed(FlowMartError):
    code = "checkout_failed"
    status = 400
    title = "Checkout failed"


class CheckoutPaymentDeclined(CheckoutFailed):
    code = "payment_declined"
    status = 402
    title = "Payment declined"


class CheckoutStockShortage(CheckoutFailed):
    code = "insufficient_stock"
    status = 409
    title = "Not enough stock"


class CheckoutGatewayUnavailable(CheckoutFailed):
    code = "gateway_unavailable"
    status = 503
    title = "Payment service unavailable"
