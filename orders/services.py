"""Commands of the orders app: everything that changes its state. The one door other apps, the views, the
API, the admin, handlers and tasks use; the code lives in modules by use case:

* ``orders.basket``     the basket (add, update, remove, merge at login);
* ``orders.checkout``   preview, place, payment retry;
* ``orders.changes``    cancel, hold and release, amend;
* ``orders.fulfilment`` labelled, shipped (capture and stock commit), delivered, refused by shipping;
* ``orders.returns``    returns settled, refunds booked or rejected, returned to sender, exchanges;
* ``orders.sweeper``    stuck sagas, closed payment-retry windows, refunds waiting;
* ``orders.disputes``   chargebacks opened and decided (the ``disputed`` marker, the loss in the books);
* ``orders.authorization_expiry`` an authorization the gateway dropped before capture (flagged for staff);
* ``orders.refunds``    the order's side of refunds, including those made in the gateway's dashboard;
* ``orders.saga``       the checkout saga's steps and compensation, used by all of the above.
"""

from orders.authorization_expiry import order_authorization_expired
from orders.basket import (
    BasketError,
    BasketLineNotFound,
    NotEnoughStock,
    QuantityNotAllowed,
    UnknownProduct,
    basket_clear_lines,
    basket_find,
    basket_get_or_create,
    basket_id_from_token,
    basket_line_add,
    basket_line_remove,
    basket_line_update,
    basket_merge,
    basket_token,
    basket_view,
    basket_view_empty,
)
from orders.changes import order_amend, order_cancel, order_hold, order_release_hold, order_stock_reserve_again
from orders.checkout import (
    ADDRESS_FIELDS,
    CheckoutDetails,
    CheckoutPreview,
    address_clean,
    checkout_outcome,
    checkout_place,
    checkout_preview,
    order_payment_retry,
    payment_token_clean,
    shipping_options,
)
from orders.disputes import order_dispute_opened, order_dispute_resolved
from orders.errors import (
    BasketChanged,
    BasketEmpty,
    CheckoutFailed,
    CheckoutGatewayUnavailable,
    CheckoutInProgress,
    CheckoutInvalid,
    CheckoutPaymentDeclined,
    CheckoutStockShortage,
    OrderActionNotAllowed,
)
from orders.fulfilment import (
    STAFF_CLEARED_FLAGS,
    order_authorization_renew,
    order_delivery_choose,
    order_delivery_problem_clear,
    order_delivery_problem_record,
    order_flag_clear,
    order_mark_delivered,
    order_mark_fulfilling,
    order_mark_shipped,
    order_reservation_lost,
    order_settle,
    order_settle_retry,
    order_shipment_rejected,
    orders_authorizations_renew,
)
from orders.guest_access import (
    OrderLinkInvalid,
    guest_orders_attach,
    order_link_read,
    order_link_request,
    order_link_url,
)
from orders.refunds import refund_made_at_gateway as order_refund_made_at_gateway
from orders.returns import (
    exchange_reference,
    exchanges_waiting_retry,
    order_exchange_dispatched,
    order_exchange_request,
    order_refund_issue_resolve,
    order_refund_rejected,
    order_refund_succeeded,
    order_return_settle,
    order_returned_to_sender,
)
from orders.selectors import orders_to_settle
from orders.sweeper import (
    declined_holds_release,
    order_compensate,
    order_refunds_check,
    parcel_stops_finish,
    payment_retries_expire,
    saga_resume,
    sagas_sweep,
)

__all__ = [
    "STAFF_CLEARED_FLAGS",
    "OrderLinkInvalid",
    "guest_orders_attach",
    "order_link_read",
    "order_link_request",
    "order_link_url",
    "ADDRESS_FIELDS",
    "BasketChanged",
    "BasketEmpty",
    "BasketError",
    "BasketLineNotFound",
    "CheckoutDetails",
    "CheckoutFailed",
    "CheckoutGatewayUnavailable",
    "CheckoutInProgress",
    "CheckoutInvalid",
    "CheckoutPaymentDeclined",
    "CheckoutPreview",
    "CheckoutStockShortage",
    "NotEnoughStock",
    "OrderActionNotAllowed",
    "QuantityNotAllowed",
    "UnknownProduct",
    "address_clean",
    "basket_clear_lines",
    "basket_find",
    "basket_id_from_token",
    "basket_token",
    "basket_get_or_create",
    "basket_line_add",
    "basket_line_remove",
    "basket_line_update",
    "basket_merge",
    "basket_view",
    "basket_view_empty",
    "checkout_outcome",
    "checkout_place",
    "checkout_preview",
    "declined_holds_release",
    "exchange_reference",
    "order_amend",
    "order_authorization_expired",
    "order_cancel",
    "order_compensate",
    "order_exchange_dispatched",
    "order_hold",
    "order_authorization_renew",
    "order_delivery_choose",
    "order_dispute_opened",
    "order_dispute_resolved",
    "order_delivery_problem_clear",
    "order_delivery_problem_record",
    "order_flag_clear",
    "order_mark_delivered",
    "order_mark_fulfilling",
    "order_mark_shipped",
    "order_payment_retry",
    "order_refund_issue_resolve",
    "order_refund_made_at_gateway",
    "order_refund_rejected",
    "order_refund_succeeded",
    "order_refunds_check",
    "order_release_hold",
    "order_reservation_lost",
    "exchanges_waiting_retry",
    "order_exchange_request",
    "order_return_settle",
    "order_returned_to_sender",
    "order_settle",
    "order_settle_retry",
    "order_shipment_rejected",
    "orders_authorizations_renew",
    "order_stock_reserve_again",
    "orders_to_settle",
    "payment_retries_expire",
    "payment_token_clean",
    "saga_resume",
    "sagas_sweep",
    "parcel_stops_finish",
    "shipping_options",
]
