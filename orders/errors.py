"""The errors the orders app answers with: each a problem document (code, status, title) for the API and a
message for the storefront."""

from __future__ import annotations

from flowmart.errors import Conflict, FlowMartError, InvalidTransition


class CheckoutInvalid(FlowMartError):
    code = "checkout_invalid"
    status = 400
    title = "The checkout details are incomplete"
    variants = {
        "invalid_payment_method": "A card number or something else that is not a payment-method token",
        "account_inactive": "This account cannot place orders",
        "unknown_line": "An amendment names an item that is not for sale (or not in the order's currency)",
        "quantity_not_allowed": "A quantity below 0 or above the per-item maximum",
        "order_empty": "An amendment would leave the order without items",
        "nothing_to_change": "An amendment that changes nothing",
    }


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
    variants = {"order_dispatched": "The order has been dispatched: start a return instead"}


class CheckoutFailed(FlowMartError):
    code = "checkout_failed"
    status = 400
    title = "Checkout failed"
    variants = {"total_mismatch": "The totals of the order do not add up"}


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
