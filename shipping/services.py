"""Commands of the shipping app: everything that changes its state. The one door other apps, the views, the
API, the admin, handlers and tasks use; the code lives in modules by use case:

* ``shipping.rates``         quotes — ``shipping_quote``, ``shipping_quote_for_method`` (+ ``ShippingPerk``,
  ``ShippingQuote``);
* ``shipping.shipments``     shipments created from ``OrderConfirmed`` (by the handlers) and for exchanges,
  cancelled, amended;
* ``shipping.labels``        labels bought from the carrier, voided once the parcel is cancelled;
* ``shipping.holds``         an order held or cancelled: its parcels stop first, and go again on release;
* ``shipping.tracking``      carrier updates applied in order; dispatch;
* ``shipping.redelivery``    failed deliveries: the customer's re-delivery or pick-up, estimates, instructions;
* ``shipping.returns``       returns: request, approve, reject, receive (inspection, refund or exchange), settle;
* ``shipping.polling``       the beat poll: missing labels, labels to void, tracking, failed-delivery follow-ups;
* ``shipping.webhooks``      signed carrier webhooks;
* ``shipping.guest_records`` a guest's parcels and returns follow them into their new account.

Carrier calls happen outside database transactions: the services open short
transactions before and after them.
"""

from shipping.carriers import CarrierUnavailable
from shipping.guest_records import guest_records_attach
from shipping.holds import ShipmentsStop, shipments_release_for_order, shipments_stop_for_order
from shipping.labels import shipment_create_label, shipment_void_label
from shipping.polling import shipments_poll
from shipping.rates import (
    ShippingMethodUnavailable,
    ShippingPerk,
    ShippingQuote,
    shipping_quote,
    shipping_quote_for_method,
)
from shipping.redelivery import (
    DeliveryChoiceNotAvailable,
    ReturnNotAwaited,
    delivery_instruction_send,
    delivery_options_fetch,
    shipment_delivery_choose,
    shipment_return_arranged,
)
from shipping.returns import (
    ReturnNotAllowed,
    return_approve,
    return_await_stock,
    return_create_label,
    return_exchange_to_refund,
    return_inspection_per_sku,
    return_mark_exchanged,
    return_mark_refunded,
    return_receive,
    return_reject,
    return_request,
)
from shipping.shipments import (
    ExchangeNotAllowed,
    shipment_cancel,
    shipment_create_for_exchange,
    shipments_amend_for_order,
    shipments_cancel_for_order,
    shipments_create_for_order,
)
from shipping.tracking import ShipmentNotFound, shipment_dispatch, tracking_updates_record
from shipping.webhooks import WebhookSignatureInvalid, carrier_webhook_receive

__all__ = [
    "CarrierUnavailable",  # shipments_stop_for_order's "try again"
    "guest_records_attach",
    "DeliveryChoiceNotAvailable",
    "ExchangeNotAllowed",
    "ReturnNotAllowed",
    "ReturnNotAwaited",
    "ShipmentNotFound",
    "ShippingMethodUnavailable",
    "ShippingPerk",
    "ShippingQuote",
    "WebhookSignatureInvalid",
    "carrier_webhook_receive",
    "delivery_instruction_send",
    "delivery_options_fetch",
    "return_approve",
    "return_await_stock",
    "return_exchange_to_refund",
    "return_inspection_per_sku",
    "return_create_label",
    "return_mark_exchanged",
    "return_mark_refunded",
    "return_receive",
    "return_reject",
    "return_request",
    "shipment_cancel",
    "shipment_create_for_exchange",
    "shipment_create_label",
    "shipment_delivery_choose",
    "shipment_dispatch",
    "shipment_return_arranged",
    "shipment_void_label",
    "shipments_amend_for_order",
    "shipments_cancel_for_order",
    "shipments_create_for_order",
    "shipments_poll",
    "shipments_release_for_order",
    "shipments_stop_for_order",
    "ShipmentsStop",
    "shipping_quote",
    "shipping_quote_for_method",
    "tracking_updates_record",
]
