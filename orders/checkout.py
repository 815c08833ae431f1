"""Checkout: price the basket (preview), place the order, retry a declined payment.

``checkout_place`` reads as its phases: prepare (validate and price, read-only), create the order (one
short transaction with the basket locked), then run the saga (reserve, authorize, confirm; each step
outside any transaction, ``orders.saga``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from flowmart.errors import FlowMartError
from flowmart.events.publisher import publish_all
from flowmart.transitions import transition_apply
from inventory import services as inventory_services
from orders import metrics, saga
from orders.basket import BasketView, NotOnSaleYet, basket_view
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
from orders.events import OrderPlaced, UserCheckedOut
from orders.models import Basket, Order, OrderLine, OrderStatus, SagaStatus
from orders.order_numbers import order_number_generate
from orders.pricing import Perks, line_discount_minor, perks_for_user, shipping_quote_for, shipping_quotes
from orders.selectors import order_for_checkout_key

ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")
REQUIRED_ADDRESS_FIELDS = ("name", "line1", "city", "postal_code", "country")


@dataclass(frozen=True)
class CheckoutDetails:
    shipping_address: dict
    shipping_method: str
    payment_method: str
    email: str = ""
    expected_total_minor: int | None = None


@dataclass(frozen=True)
class CheckoutPreview:
    """The priced basket as an order would be: lines with discounts, shipping, total."""

    currency: str
    lines: list[dict]
    subtotal_minor: int
    discount_minor: int
    shipping_minor: int
    total_minor: int
    shipping_method: str
    shipping_method_name: str
    perks: Perks
    basket_version: int


@dataclass(frozen=True)
class _PreparedCheckout:
    """Everything an order is made of, validated and priced before anything is written."""

    email: str
    customer_name: str
    address: dict
    payment_method: str
    preview: CheckoutPreview


# -- input ---------------------------------------------------------------------------------
def address_clean(address: dict | None) -> dict:
    if not isinstance(address, dict):
        raise CheckoutInvalid(
            "A shipping address is required.", errors={"shipping_address": ["This field is required."]}
        )
    clean = {f: str(address.get(f) or "").strip() for f in ADDRESS_FIELDS}
    errors = {f"shipping_address.{f}": ["This field is required."] for f in REQUIRED_ADDRESS_FIELDS if not clean[f]}
    clean["country"] = clean["country"].upper()
    if clean["country"] and (len(clean["country"]) != 2 or not clean["country"].isalpha()):
        errors["shipping_address.country"] = ["Use a two-letter country code (ISO 3166-1), e.g. US."]
    if errors:
        raise CheckoutInvalid("The shipping address is incomplete.", errors=errors)
    return clean


_PAN_LIKE = re.compile(r"\d{12,19}")


def payment_token_clean(token: str | None) -> str:
    """A gateway payment-method token (``pm_…``). Anything that looks like a card number is refused before
    an order exists, and never stored or echoed."""
    token = (token or "").strip()
    if not token:
        raise CheckoutInvalid("Payment details are required.", errors={"payment_method": ["This field is required."]})
    if _PAN_LIKE.search(re.sub(r"[\s-]", "", token)):
        raise CheckoutInvalid(
            "Card numbers are never accepted here: send the payment provider's token (e.g. pm_card_visa).",
            code="invalid_payment_method",
            errors={"payment_method": ["Send a payment-method token, not a card number."]},
        )
    if len(token) > 100 or not token.isprintable():
        raise CheckoutInvalid(
            "That is not a payment-method token.",
            code="invalid_payment_method",
            errors={"payment_method": ["Send a payment-method token such as pm_card_visa."]},
        )
    return token


def _customer_clean(*, user, email: str) -> tuple[str, str]:
    if user is not None and user.is_authenticated:
        if not user.is_active:
            raise CheckoutInvalid("This account cannot place orders.", code="account_inactive")
        return user.email, user.get_full_name()
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise CheckoutInvalid(
            "An email address is required to check out as a guest.", errors={"email": ["Enter a valid email address."]}
        ) from None
    return email, ""


# -- prices ----------------------------------------------------------------------------------
def checkout_preview(
    *, basket: Basket, user, shipping_address: dict, shipping_method: str, view: BasketView | None = None
) -> CheckoutPreview:
    """Price the basket for checkout: today's prices, member discount and the chosen shipping method.

    ``view``: the basket as the caller already priced it in this request (priced once per request)."""
    view = view or basket_view(basket=basket, acknowledge=False, pictures=False)
    if view.is_empty:
        raise BasketEmpty("Your basket is empty.")
    # A line added while the customer could buy it (or before staff set a launch) is refused by name.
    not_yet = [line for line in view.lines if line.on_sale_at is not None]
    if not_yet:
        raise NotOnSaleYet(
            " ".join(line.problem for line in not_yet),
            skus=[line.sku for line in not_yet],
            on_sale_at={line.sku: line.on_sale_at.isoformat() for line in not_yet},
        )
    if not view.can_checkout:
        if all(line.is_available or line.stock_short for line in view.lines):
            # Only stock is missing (others hold it, or it sold): the race was lost, say so with the numbers.
            raise CheckoutStockShortage(
                " ".join(view.notices) or "Some items are no longer available in the quantity you asked for.",
                shortages=[
                    {"sku": line.sku, "requested": line.quantity, "available": max(line.available_quantity, 0)}
                    for line in view.lines
                    if line.stock_short
                ],
            )
        raise BasketChanged(" ".join(view.notices) or "Some items in your basket are not available.")
    perks = perks_for_user(user=user)
    lines = [
        {
            "sku": line.sku,
            "name": line.name,
            "variant_name": line.variant_name,
            "quantity": line.quantity,
            "unit_price_minor": line.unit_price_minor,
            "discount_minor": discount,
            "line_total_minor": line.line_total_minor - discount,
            "weight_grams": line.weight_grams,
        }
        for line, discount in _discounted(view, perks)
    ]
    subtotal = view.subtotal_minor
    discount = sum(line["discount_minor"] for line in lines)
    quote = shipping_quote_for(
        method_code=shipping_method,
        address=shipping_address,
        lines=[{"sku": ln["sku"], "quantity": ln["quantity"], "weight_grams": ln["weight_grams"]} for ln in lines],
        subtotal_minor=subtotal - discount,
        currency=view.currency,
        perks=perks,
    )
    return CheckoutPreview(
        currency=view.currency,
        lines=lines,
        subtotal_minor=subtotal,
        discount_minor=discount,
        shipping_minor=quote.price_minor,
        total_minor=subtotal - discount + quote.price_minor,
        shipping_method=quote.code,
        shipping_method_name=quote.name,
        perks=perks,
        basket_version=view.version,
    )


def shipping_options(*, basket_view, address: dict, perks) -> list:
    """Shipping methods (with prices after perks) for the basket going to ``address``."""
    discount = sum(discount for _, discount in _discounted(basket_view, perks))
    return shipping_quotes(
        address=address,
        lines=[{"sku": ln.sku, "quantity": ln.quantity, "weight_grams": ln.weight_grams} for ln in basket_view.lines],
        subtotal_minor=basket_view.subtotal_minor - discount,
        currency=basket_view.currency,
        perks=perks,
    )


def _discounted(view, perks: Perks) -> list[tuple]:
    """Each basket line with its member discount."""
    return [
        (
            line,
            line_discount_minor(
                line_total_minor=line.line_total_minor, currency=view.currency, percent_off=perks.percent_off
            ),
        )
        for line in view.lines
    ]


# -- place ---------------------------------------------------------------------------------
def checkout_place(
    *,
    basket: Basket,
    user,
    details: CheckoutDetails,
    request_key: str = "",
    preview: CheckoutPreview | None = None,
) -> Order:
    """Turn the basket into a confirmed order, or fail cleanly with the basket intact.

    ``preview``: the caller's ``checkout_preview`` of these details in this request (the review page shows
    it), so the basket is not priced again; the basket's version is still checked with the basket locked.

    ``request_key`` (the caller's Idempotency-Key, scoped and digested by the API) is written with the order:
    the same key again returns that order as ``checkout_outcome`` tells it, however the first request ended.

    Raises ``CheckoutInvalid`` / ``BasketEmpty`` (400), ``BasketChanged`` / ``CheckoutInProgress`` /
    ``CheckoutStockShortage`` (409), ``CheckoutPaymentDeclined`` (402), ``CheckoutGatewayUnavailable`` (503).
    """
    placed = order_for_checkout_key(request_key=request_key)
    if placed is not None and _checkout_may_run_again(placed):
        # The first attempt failed on our side (the gateway did not answer): "try again" means run again.
        Order.objects.filter(pk=placed.pk).update(checkout_key=None)
        placed = None
    if placed is not None:
        return checkout_outcome(order=placed)
    prepared = _checkout_prepare(basket=basket, user=user, details=details, preview=preview)
    order, superseded = _order_create(basket=basket, user=user, prepared=prepared, request_key=request_key)
    if superseded is None:  # created by the same request, retried: that one runs the saga
        return checkout_outcome(order=order)
    for old in superseded:
        saga.compensate(order=old, target=OrderStatus.CANCELLED, reason=f"replaced by order {order.number}")
    # Straight from its creation (nothing compensated in between, which calls the gateway) its lease is fresh.
    return _saga_run(order if superseded else saga.mark_new(order), fresh=True)


def _checkout_may_run_again(order: Order) -> bool:
    """A checkout that ended in a server-side failure (503: nothing charged, stock released) is not an
    answer to replay: a retry with the same key checks out anew, like a 5xx forgets an Idempotency-Key."""
    return order.status == OrderStatus.FAILED and order.failure_code == CheckoutGatewayUnavailable.code


def checkout_outcome(*, order: Order) -> Order:
    """What a checkout that created ``order`` answers now: the order while its saga runs (``pending``) or once it
    went through; the error the checkout ended with if it did not (402 declined, 409 stock, 503 gateway, …)."""
    if order.status == OrderStatus.PAYMENT_FAILED:
        raise CheckoutPaymentDeclined(
            f"Your payment was declined ({order.decline_code.replace('_', ' ')}). Your basket is unchanged; "
            "please try another card.",
            order_number=order.number,
            decline_code=order.decline_code,
        )
    if order.status == OrderStatus.FAILED:
        if order.failure_code == CheckoutStockShortage.code:
            raise CheckoutStockShortage(
                "Some items were no longer available in the quantity you asked for; your basket is unchanged.",
                order_number=order.number,
                shortages=[],
            )
        if order.failure_code == CheckoutGatewayUnavailable.code:
            raise CheckoutGatewayUnavailable(
                "The payment service was not answering. Nothing was charged and your basket is unchanged; "
                "please try again in a moment.",
                order_number=order.number,
            )
        raise CheckoutFailed(
            order.failure_detail or "The checkout could not be completed.",
            code=order.failure_code or CheckoutFailed.code,
            order_number=order.number,
        )
    return order


def _checkout_prepare(
    *, basket: Basket, user, details: CheckoutDetails, preview: CheckoutPreview | None = None
) -> _PreparedCheckout:
    """Validate and price, read-only: nothing is written when the details are wrong or the total moved."""
    email, customer_name = _customer_clean(user=user, email=details.email)
    address = address_clean(details.shipping_address)
    payment_method = payment_token_clean(details.payment_method)
    if preview is None or preview.shipping_method != details.shipping_method:
        preview = checkout_preview(
            basket=basket, user=user, shipping_address=address, shipping_method=details.shipping_method
        )
    if details.expected_total_minor is not None and details.expected_total_minor != preview.total_minor:
        raise BasketChanged(
            "The order total changed since you last saw it; please review your basket.",
            expected_total_minor=details.expected_total_minor,
            total_minor=preview.total_minor,
        )
    if preview.total_minor != preview.subtotal_minor - preview.discount_minor + preview.shipping_minor:
        raise CheckoutFailed("The order total does not add up.", code="total_mismatch")
    return _PreparedCheckout(email, customer_name, address, payment_method, preview)


def _order_create(
    *, basket: Basket, user, prepared: _PreparedCheckout, request_key: str
) -> tuple[Order, list[Order] | None]:
    """The order (pending), its lines, its stock reservation, the request's key and the announcement, in one
    transaction with the basket locked.

    Returns the order and the earlier declined orders of this basket that it replaces; ``None`` instead of that
    list when the same request (same key) created the order meanwhile, which is returned as it is.
    """
    try:
        with transaction.atomic():
            locked = Basket.objects.select_for_update().get(pk=basket.pk)
            if locked.version != prepared.preview.basket_version:
                raise BasketChanged("Your basket changed while you were checking out; please review it.")
            superseded = _checkout_open_orders_check(locked)
            # Declined orders of this basket may hold the very units this one needs: they are released first (after
            # this transaction) and the saga reserves then; otherwise the stock is held with the order, or neither.
            reserve_now = not superseded
            order = _order_row_create(
                basket=locked, user=user, prepared=prepared, request_key=request_key, stock_reserved=reserve_now
            )
            _order_placed_announce(order, basket=locked)
            reservation = _stock_reserve_new(order, preview=prepared.preview) if reserve_now else None
            _order_lines_create(order, preview=prepared.preview, reservation=reservation)
            saga.steps_record_first(order, ["validate", "create_order"] + (["reserve_stock"] if reserve_now else []))
    except IntegrityError:
        # The key is unique: the same request, retried while we validated, created the order. One order per key.
        placed = order_for_checkout_key(request_key=request_key)
        if placed is None:
            raise
        return placed, None
    return order, superseded


def _checkout_open_orders_check(basket: Basket) -> list[Order]:
    """Refuse a second checkout of a basket while one runs; returns the declined orders this one replaces.
    One read for both."""
    open_orders = list(
        Order.objects.filter(
            basket_public_id=basket.public_id, status__in=[OrderStatus.PENDING, OrderStatus.PAYMENT_FAILED]
        ).exclude(saga_status=SagaStatus.COMPENSATED)
    )
    running = next(
        (o for o in open_orders if o.status == OrderStatus.PENDING and o.saga_status == SagaStatus.RUNNING), None
    )
    if running is not None:
        raise CheckoutInProgress(
            "This basket is already being checked out; please wait a moment.", order_number=running.number
        )
    return [o for o in open_orders if o.status == OrderStatus.PAYMENT_FAILED]


def _stock_reserve_new(order: Order, *, preview: CheckoutPreview) -> inventory_services.Reservation:
    """Hold the stock in the order's own transaction (saga step ``reserve_stock``, first attempt): a shortage
    rolls the order back, so a checkout that lost the race for the last units leaves no order behind."""
    try:
        return inventory_services.stock_reserve_new(
            reference=order.stock_reference,
            lines=[inventory_services.StockLine(sku=line["sku"], quantity=line["quantity"]) for line in preview.lines],
            ttl_minutes=settings.ORDERS_RESERVATION_TTL_MINUTES,
        )
    except FlowMartError as exc:
        raise CheckoutStockShortage(
            "Some items are no longer available in the quantity you asked for; your basket is unchanged.",
            shortages=exc.extra.get("shortages", []),
        ) from exc


def _order_row_create(
    *, basket: Basket, user, prepared: _PreparedCheckout, request_key: str, stock_reserved: bool
) -> Order:
    preview = prepared.preview
    return Order.objects.create(
        number=order_number_generate(),
        checkout_key=request_key or None,
        user=user if (user is not None and user.is_authenticated) else None,
        basket_public_id=basket.public_id,
        basket_version=basket.version,
        email=prepared.email,
        customer_name=prepared.customer_name or prepared.address["name"],
        currency=preview.currency,
        subtotal_minor=preview.subtotal_minor,
        discount_minor=preview.discount_minor,
        shipping_minor=preview.shipping_minor,
        total_minor=preview.total_minor,
        perk_percent_off=preview.perks.percent_off,
        perk_free_shipping=preview.perks.free_shipping,
        member_tier=preview.perks.tier_name or "",
        shipping_method=preview.shipping_method,
        shipping_method_name=preview.shipping_method_name,
        shipping_address=prepared.address,
        payment_method=prepared.payment_method,
        stock_reserved=stock_reserved,  # the reservation commits with the order, or neither does
        saga_lease_until=saga.lease_until(),
    )


def _order_lines_create(
    order: Order, *, preview: CheckoutPreview, reservation: inventory_services.Reservation | None
) -> None:
    """Preview lines carry exactly the order line's columns; the warehouses holding them come with the reservation."""
    allocations = saga.allocations_by_sku(reservation) if reservation is not None else {}
    OrderLine.objects.bulk_create(
        [OrderLine(order=order, allocations=allocations.get(line["sku"], []), **line) for line in preview.lines]
    )


def _order_placed_announce(order: Order, *, basket: Basket) -> None:
    user_id = saga.user_id_of(order)
    publish_all(
        [
            UserCheckedOut(
                correlation_id=order.number,
                basket_id=str(basket.public_id),
                user_id=user_id,
                customer_email=order.email,
                total_minor=order.total_minor,
                currency=order.currency,
            ),
            OrderPlaced(
                correlation_id=order.number,
                order_number=order.number,
                user_id=user_id,
                customer_email=order.email,
                total_minor=order.total_minor,
                currency=order.currency,
            ),
        ]
    )


def _saga_run(order: Order, *, fresh: bool = False) -> Order:
    """Reserve, authorize, confirm; counted by outcome for the checkout metrics."""
    try:
        order = saga.saga_advance(order=order, fresh=fresh)
    except CheckoutFailed as exc:
        metrics.CHECKOUTS.labels(exc.code).inc()
        raise
    metrics.CHECKOUTS.labels(order.status).inc()
    return order


# -- retry -----------------------------------------------------------------------------------
def order_payment_retry(*, order: Order, payment_method: str, by=None) -> Order:
    """Retry a declined payment within the window (stock is reserved again if its hold ended). Raises like
    ``checkout_place``."""
    payment_method = payment_token_clean(payment_method)
    with transaction.atomic():
        order = saga.lock(order)
        if not order.can_retry_payment():
            raise OrderActionNotAllowed("This order's payment can no longer be retried.")
        order.payment_method = payment_method
        order.payment_round += 1
        order.saga_status = SagaStatus.RUNNING
        order.saga_lease_until = saga.lease_until()
        transition_apply(order, "retry_payment", actor="customer", by=by, reason="payment retried")
    return saga.saga_advance(order=order)
