"""Commands of the orders app: everything that changes its state.

The basket lives in ``orders.basket`` and the saga machinery in ``orders.saga``;
this module is the public surface the views, API, admin, handlers and tasks call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from flowmart.errors import Conflict, FlowMartError, InvalidTransition, NotFound
from flowmart.events.publisher import publish
from inventory import services as inventory_services
from orders import metrics, refunds, saga
from orders.basket import (  # noqa: F401  (re-exported: the basket commands)
    BasketError,
    BasketLineNotFound,
    NotEnoughStock,
    QuantityNotAllowed,
    UnknownProduct,
    basket_clear_lines,
    basket_find,
    basket_get_or_create,
    basket_line_add,
    basket_line_remove,
    basket_line_update,
    basket_merge,
    basket_view,
)
from orders.events import (
    OrderAmended,
    OrderCompleted,
    OrderOnHold,
    OrderPlaced,
    OrderRefunded,
    OrderShipped,
    UserCheckedOut,
)
from orders.models import Basket, Order, OrderLine, OrderPayment, OrderRefund, OrderStatus, SagaStatus
from orders.order_numbers import order_number_generate
from orders.pricing import line_discount_minor, perks_for_user, shipping_quote_for, shipping_quotes
from orders.saga import (  # noqa: F401  (re-exported: errors callers act on)
    CheckoutFailed,
    CheckoutGatewayUnavailable,
    CheckoutPaymentDeclined,
    CheckoutStockShortage,
)
from payments import selectors as payment_selectors
from payments import services as payment_services
from shipping import selectors as shipping_selectors
from shipping import services as shipping_services

log = structlog.get_logger(__name__)

ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")
REQUIRED_ADDRESS_FIELDS = ("name", "line1", "city", "postal_code", "country")


class CheckoutInvalid(FlowMartError):
    code = "checkout_invalid"
    status = 400
    title = "The checkout details are incomplete"
    variants = {
        "invalid_payment_method": "A card number or something else that is not a payment-method token",
        "account_inactive": "This account cannot place orders",
        "unknown_line": "An amendment names an item that is not in the order",
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


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "No such order"


class OrderActionNotAllowed(InvalidTransition):
    variants = {"order_dispatched": "The order has been dispatched: start a return instead"}


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
    perks: object
    basket_version: int


# -- checkout -----------------------------------------------------------------------
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


def checkout_preview(*, basket: Basket, user, shipping_address: dict, shipping_method: str) -> CheckoutPreview:
    """Price the basket for checkout: today's prices, member discount and the chosen shipping method."""
    view = basket_view(basket=basket, acknowledge=False)
    if view.is_empty:
        raise BasketEmpty("Your basket is empty.")
    if not view.can_checkout:
        raise BasketChanged(" ".join(view.notices) or "Some items in your basket are not available.")
    perks = perks_for_user(user=user)
    lines = []
    for line in view.lines:
        discount = line_discount_minor(
            line_total_minor=line.line_total_minor, currency=view.currency, percent_off=perks.percent_off
        )
        lines.append(
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
        )
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


def _validate_customer(*, user, email: str) -> tuple[str, str]:
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


def checkout_place(*, basket: Basket, user, details: CheckoutDetails) -> Order:
    """Turn the basket into a confirmed order, or fail cleanly with the basket intact.

    Raises ``CheckoutInvalid`` / ``BasketEmpty`` (400), ``BasketChanged`` / ``CheckoutInProgress`` /
    ``CheckoutStockShortage`` (409), ``CheckoutPaymentDeclined`` (402), ``CheckoutGatewayUnavailable`` (503).
    """
    # 1. validate (read-only)
    email, customer_name = _validate_customer(user=user, email=details.email)
    address = address_clean(details.shipping_address)
    payment_method = payment_token_clean(details.payment_method)
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

    # 2. create the order (pending), one transaction, the basket locked
    superseded: list[Order] = []
    with transaction.atomic():
        locked = Basket.objects.select_for_update().get(pk=basket.pk)
        if locked.version != preview.basket_version:
            raise BasketChanged("Your basket changed while you were checking out; please review it.")
        in_flight = Order.objects.filter(
            basket_public_id=locked.public_id, status=OrderStatus.PENDING, saga_status=SagaStatus.RUNNING
        )
        running = in_flight.first()
        if running is not None:
            raise CheckoutInProgress(
                "This basket is already being checked out; please wait a moment.", order_number=running.number
            )
        superseded = list(
            Order.objects.filter(basket_public_id=locked.public_id, status=OrderStatus.PAYMENT_FAILED).exclude(
                saga_status=SagaStatus.COMPENSATED
            )
        )
        order = Order.objects.create(
            number=order_number_generate(),
            user=user if (user is not None and user.is_authenticated) else None,
            basket_public_id=locked.public_id,
            basket_version=locked.version,
            email=email,
            customer_name=customer_name or address["name"],
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
            shipping_address=address,
            payment_method=payment_method,
            saga_lease_until=saga.lease_until(),
        )
        OrderLine.objects.bulk_create(
            [
                OrderLine(
                    order=order,
                    sku=line["sku"],
                    name=line["name"],
                    variant_name=line["variant_name"],
                    quantity=line["quantity"],
                    unit_price_minor=line["unit_price_minor"],
                    discount_minor=line["discount_minor"],
                    line_total_minor=line["line_total_minor"],
                    weight_grams=line["weight_grams"],
                )
                for line in preview.lines
            ]
        )
        saga.step_record(order, "validate")
        saga.step_record(order, "create_order")
        user_id = str(user.public_id) if order.user_id else None
        publish(
            UserCheckedOut(
                correlation_id=order.number,
                basket_id=str(locked.public_id),
                user_id=user_id,
                customer_email=email,
                total_minor=order.total_minor,
                currency=order.currency,
            )
        )
        publish(
            OrderPlaced(
                correlation_id=order.number,
                order_number=order.number,
                user_id=user_id,
                customer_email=email,
                total_minor=order.total_minor,
                currency=order.currency,
            )
        )
    for old in superseded:
        saga.compensate(order=old, target=OrderStatus.CANCELLED, reason=f"replaced by order {order.number}")

    # 3–5. reserve, authorize, confirm (each step outside any transaction)
    try:
        order = saga.saga_advance(order=order)
    except CheckoutFailed as exc:
        metrics.CHECKOUTS.labels(exc.code).inc()
        raise
    metrics.CHECKOUTS.labels(order.status).inc()
    return order


def order_payment_retry(*, order: Order, payment_method: str, by=None) -> Order:
    """Retry a declined payment within the window (stock is still held). Raises like ``checkout_place``."""
    payment_method = payment_token_clean(payment_method)
    with transaction.atomic():
        order = saga.lock(order)
        if not order.can_retry_payment():
            raise OrderActionNotAllowed("This order's payment can no longer be retried.")
        order.payment_method = payment_method
        order.payment_round += 1
        order.saga_status = SagaStatus.RUNNING
        order.saga_lease_until = saga.lease_until()
        saga.record_transition(order, "retry_payment", actor="customer", by=by, reason="payment retried")
    return saga.saga_advance(order=order)


# -- cancel, hold, amend ---------------------------------------------------------------------
def order_cancel(*, order: Order, by=None, actor: str = "customer", reason: str = "") -> Order:
    """Cancel: a customer before dispatch, staff before delivery. Compensates (void/refund, release)."""
    order = Order.objects.get(pk=order.pk)
    allowed = order.can_staff_cancel() if actor == "staff" else order.can_customer_cancel()
    if not allowed:
        if actor == "customer" and order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED):
            raise OrderActionNotAllowed(
                "This order has already been dispatched; please start a return instead.", code="order_dispatched"
            )
        raise OrderActionNotAllowed(f"An order that is {order.get_status_display().lower()} cannot be cancelled.")
    running = order.status == OrderStatus.PENDING and order.saga_status == SagaStatus.RUNNING
    if running and order.saga_lease_until and order.saga_lease_until > timezone.now():
        raise CheckoutInProgress("This order is still being placed; try again in a moment.")
    reason = reason or ("cancelled by the customer" if actor == "customer" else "cancelled by staff")
    return saga.compensate(order=order, target=OrderStatus.CANCELLED, reason=reason, actor=actor, by=by)


def order_hold(*, order: Order, reason: str, by=None, actor: str = "staff", expected_delay_days: int = 3) -> Order:
    """Stock turned out short (or staff need to check something): the order waits; the customer is told."""
    with transaction.atomic():
        order = saga.lock(order)
        if order.status not in (OrderStatus.CONFIRMED, OrderStatus.FULFILLING):
            raise OrderActionNotAllowed("Only confirmed orders can be put on hold.")
        order.hold_reason = reason[:255]
        saga.record_transition(order, "hold", actor=actor, by=by, reason=reason)
        publish(
            OrderOnHold(
                correlation_id=order.number,
                order_number=order.number,
                user_id=saga.user_id_of(order),
                customer_email=order.email,
                reason=reason,
                expected_delay_days=expected_delay_days,
            )
        )
    return order


def order_stock_reserve_again(*, order: Order) -> Order:
    """Inventory let a confirmed order's reservation expire: hold the stock again, else put the order on hold."""
    order = Order.objects.get(pk=order.pk)
    if order.stock_reserved or order.status not in (OrderStatus.CONFIRMED, OrderStatus.FULFILLING):
        return order
    try:
        _reserve_again(order)
    except inventory_services.InsufficientStock as exc:
        return order_hold(
            order=order,
            actor="system",
            reason=f"Some items turned out to be out of stock ({exc.detail})",
        )
    return Order.objects.get(pk=order.pk)


def _reserve_again(order: Order) -> None:
    row = saga.step_begin(order, "reserve_stock")
    try:
        reservation = inventory_services.stock_reserve(
            reference=order.stock_reference,
            lines=[inventory_services.StockLine(sku=line.sku, quantity=line.quantity) for line in order.lines.all()],
            ttl_minutes=settings.ORDERS_RESERVATION_TTL_MINUTES,
        )
    except Exception as exc:
        saga.step_fail(row, exc)
        raise
    with transaction.atomic():
        saga.store_allocations(order, reservation)
        Order.objects.filter(pk=order.pk).update(stock_reserved=True, stock_released=False)
        saga.step_succeed(row)


def order_release_hold(*, order: Order, by=None, reason: str = "released by staff") -> Order:
    """Back to ``confirmed``; if the stock had been lost, it must be reservable again first (else 409)."""
    order = Order.objects.get(pk=order.pk)
    if order.status == OrderStatus.ON_HOLD and not order.stock_reserved:
        _reserve_again(order)
    with transaction.atomic():
        order = saga.lock(order)
        if order.status != OrderStatus.ON_HOLD:
            raise OrderActionNotAllowed("This order is not on hold.")
        saga.record_transition(order, "release_hold", actor="staff", by=by, reason=reason)
    return order


def order_amend(
    *, order: Order, quantities: dict[str, int] | None = None, shipping_address: dict | None = None, by=None
) -> Order:
    """Before fulfilment: change quantities (0 removes a line) and/or the address.

    Stock is re-reserved all or nothing; a higher total is covered by an extra authorization,
    a lower one is released at capture (only the new total is ever captured).
    """
    order = Order.objects.get(pk=order.pk)
    if not order.can_amend():
        raise OrderActionNotAllowed("This order can no longer be changed.")
    quantities = {str(k): v for k, v in (quantities or {}).items()}
    lines = {line.sku: line for line in order.lines.all()}
    unknown = sorted(set(quantities) - set(lines))
    if unknown:
        raise CheckoutInvalid(f"{', '.join(unknown)} is not in this order.", code="unknown_line")
    for sku, qty in quantities.items():
        if not isinstance(qty, int) or isinstance(qty, bool) or qty < 0:
            raise CheckoutInvalid(f"Quantity for {sku} must be 0 or more.", code="quantity_not_allowed")
        if qty > settings.BASKET_MAX_QUANTITY:
            raise CheckoutInvalid(
                f"You can buy at most {settings.BASKET_MAX_QUANTITY} of one item.", code="quantity_not_allowed"
            )
    new_quantities = {sku: quantities.get(sku, line.quantity) for sku, line in lines.items()}
    if not any(new_quantities.values()):
        raise CheckoutInvalid("An order needs at least one item; cancel the order instead.", code="order_empty")
    address = address_clean(shipping_address) if shipping_address is not None else order.shipping_address
    changes = [
        f"{lines[sku].name}: {lines[sku].quantity} → {qty}"
        for sku, qty in new_quantities.items()
        if qty != lines[sku].quantity
    ]
    if address != order.shipping_address:
        changes.append("shipping address changed")
    if not changes:
        raise CheckoutInvalid("Nothing to change.", code="nothing_to_change")

    new_total = _amended_total(order, lines, new_quantities)

    row = saga.step_begin(order, "amend_reservation")
    try:
        reservation = inventory_services.stock_reservation_amend(
            reference=order.stock_reference,
            lines=[inventory_services.StockLine(sku=s, quantity=q) for s, q in new_quantities.items() if q],
        )
    except Exception as exc:
        saga.step_fail(row, exc)
        raise
    saga.step_succeed(row)
    extra_payment = None
    if new_total > order.authorized_minor:
        extra_payment = _authorize_extra(order, amount_minor=new_total - order.authorized_minor, lines=lines)
    with transaction.atomic():
        order = saga.lock(order)
        if extra_payment is not None:
            OrderPayment.objects.get_or_create(
                payment_id=extra_payment.id,
                defaults={"order": order, "amount_minor": extra_payment.amount_minor, "purpose": "amendment"},
            )
            order.authorized_minor += extra_payment.amount_minor
        allocations: dict[str, list[dict]] = {}
        for a in reservation.allocations:
            allocations.setdefault(a.sku, []).append({"warehouse_code": a.warehouse_code, "quantity": a.quantity})
        subtotal = discount = 0
        for sku, line in lines.items():
            qty = new_quantities[sku]
            if qty == 0:
                line.delete()
                continue
            gross = line.unit_price_minor * qty
            line_discount = line_discount_minor(
                line_total_minor=gross, currency=order.currency, percent_off=order.perk_percent_off
            )
            line.quantity = qty
            line.discount_minor = line_discount
            line.line_total_minor = gross - line_discount
            line.allocations = allocations.get(sku, [])
            line.save()
            subtotal += gross
            discount += line_discount
        order.subtotal_minor = subtotal
        order.discount_minor = discount
        order.total_minor = subtotal - discount + order.shipping_minor
        order.shipping_address = address
        order.amendment_count += 1
        order.save()
        saga.OrderTransition.objects.create(
            order=order,
            transition="amend",
            from_status=order.status,
            to_status=order.status,
            actor="staff" if (by is not None and getattr(by, "is_staff", False)) else "customer",
            by=by if (by is not None and getattr(by, "is_authenticated", False)) else None,
            reason="; ".join(changes)[:500],
        )
        publish(
            OrderAmended(
                correlation_id=order.number,
                order_number=order.number,
                user_id=saga.user_id_of(order),
                customer_email=order.email,
                currency=order.currency,
                total_minor=order.total_minor,
                shipping_address=order.shipping_address,
                lines=[line.as_payload() for line in order.lines.all()],
                changes=changes,
            )
        )
    return order


def _amended_total(order: Order, lines: dict, new_quantities: dict[str, int]) -> int:
    total = order.shipping_minor
    for sku, line in lines.items():
        gross = line.unit_price_minor * new_quantities[sku]
        total += gross - line_discount_minor(
            line_total_minor=gross, currency=order.currency, percent_off=order.perk_percent_off
        )
    return total


def _authorize_extra(order: Order, *, amount_minor: int, lines: dict):
    """A higher total after an amendment: authorize the difference on the same card.

    On failure the reservation goes back to the old quantities and the error is raised (402 on a decline).
    """
    row = saga.step_begin(order, "authorize_extra")
    try:
        return payment_services.payment_authorize(
            reference=order.payment_reference,
            amount_minor=amount_minor,
            currency=order.currency,
            payment_method=order.payment_method,
            idempotency_key=f"{order.number}:amend:{order.amendment_count + 1}",
            customer_email=order.email,
            customer_user_id=saga.user_id_of(order),
            correlation_id=order.number,
        )
    except Exception as exc:
        saga.step_fail(row, exc)
        inventory_services.stock_reservation_amend(
            reference=order.stock_reference,
            lines=[inventory_services.StockLine(sku=sku, quantity=line.quantity) for sku, line in lines.items()],
        )
        raise
    finally:
        if row.status == "running":
            saga.step_succeed(row)


# -- shipping's events: fulfilment, dispatch, delivery, refusal, returns -----------------------------
def _order_by_number(number: str, *, for_update: bool = False) -> Order | None:
    qs = Order.objects.select_for_update() if for_update else Order.objects
    return qs.filter(number=number).first()


def order_reservation_lost(*, reference: str) -> Order | None:
    """Inventory expired an order's reservation (caller's transaction). Returns the order if it needs stock again."""
    order = _order_by_number(reference, for_update=True)
    if order is None or order.status not in (OrderStatus.CONFIRMED, OrderStatus.FULFILLING) or order.stock_committed:
        return None
    order.stock_reserved = False
    order.save(update_fields=["stock_reserved", "updated_at"])
    return order


def order_mark_fulfilling(*, order_number: str) -> Order | None:
    """A shipment exists (label issued). Runs inside the caller's transaction."""
    order = _order_by_number(order_number, for_update=True)
    if order is not None and order.status == OrderStatus.CONFIRMED:
        saga.record_transition(order, "start_fulfilment", reason="shipment created")
    return order


def order_mark_shipped(*, order_number: str, shipment_number: str = "") -> Order | None:
    """The first parcel left: ``shipped``. Capture and stock commit follow in ``order_settle`` (outside calls).

    Runs inside the caller's transaction; returns the order when settling is needed.
    """
    order = _order_by_number(order_number, for_update=True)
    if order is None:
        return None
    if order.status in (OrderStatus.CONFIRMED, OrderStatus.FULFILLING):
        saga.record_transition(order, "ship", reason=f"shipment {shipment_number} dispatched".replace("  ", " "))
    if order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED):
        return order
    return None


def order_settle(*, order: Order) -> Order:
    """After dispatch: capture the order's total (no more) and turn the reservation into a sale. Idempotent.

    A refusal (4xx: e.g. the reservation is gone) parks the order with ``failure_code="settle_failed"``
    for staff (orders needing attention); a transient error raises so the task retries.
    """
    try:
        return _settle(order)
    except FlowMartError as exc:
        if exc.status >= 500:
            raise
        Order.objects.filter(pk=order.pk).update(
            failure_code="settle_failed", failure_detail=f"{exc.code}: {exc.detail}"[:500]
        )
        log.error("order could not be settled after dispatch", order=order.number, code=exc.code)
        return Order.objects.get(pk=order.pk)


def order_settle_retry(*, order: Order) -> Order:
    """Staff fixed what blocked settling (e.g. stock): try capture + stock commit again."""
    Order.objects.filter(pk=order.pk, failure_code="settle_failed").update(failure_code="", failure_detail="")
    return order_settle(order=order)


def _settle(order: Order) -> Order:
    order = Order.objects.get(pk=order.pk)
    remaining = order.total_minor - order.captured_minor
    for payment in order.payments.filter(voided=False):
        if remaining <= 0:
            break
        # Our record may lag the gateway after a crash: read the payment first.
        info = payment_selectors.payment_get(payment_id=payment.payment_id)
        already = (info.captured_minor if info else 0) - payment.captured_minor
        take = min(remaining, payment.amount_minor - payment.captured_minor) if already <= 0 else 0
        if take > 0:
            row = saga.step_begin(order, "capture_payment")
            try:
                payment_services.payment_capture(payment_id=payment.payment_id, amount_minor=take)
            except Exception as exc:
                saga.step_fail(row, exc)
                raise
        else:
            row, take = None, max(already, 0)
        if take <= 0:
            continue
        with transaction.atomic():
            OrderPayment.objects.filter(pk=payment.pk).update(captured_minor=payment.captured_minor + take)
            locked = saga.lock(order)
            locked.captured_minor += take
            locked.save(update_fields=["captured_minor", "updated_at"])
            if row is not None:
                saga.step_succeed(row)
        remaining -= take
    # Authorizations not needed any more (amended down) are voided.
    for payment in Order.objects.get(pk=order.pk).payments.filter(voided=False, captured_minor=0):
        saga.payment_void(order=order, payment=payment, reason="not needed after amendment")
    order = Order.objects.get(pk=order.pk)
    if not order.stock_committed:
        row = saga.step_begin(order, "commit_stock")
        try:
            inventory_services.stock_commit(reference=order.stock_reference)
        except Exception as exc:
            saga.step_fail(row, exc)
            raise
        with transaction.atomic():
            locked = saga.lock(order)
            locked.stock_committed = True
            locked.save(update_fields=["stock_committed", "updated_at"])
            saga.step_succeed(row)
            publish(
                OrderShipped(
                    correlation_id=order.number,
                    order_number=order.number,
                    user_id=saga.user_id_of(order),
                    customer_email=order.email,
                    captured_minor=locked.captured_minor,
                    currency=order.currency,
                )
            )
    return Order.objects.get(pk=order.pk)


def order_mark_delivered(*, order_number: str, all_delivered: bool) -> Order | None:
    """Delivered when every shipment is: ``delivered`` then ``completed``. Caller's transaction."""
    order = _order_by_number(order_number, for_update=True)
    if order is None or not all_delivered or order.status != OrderStatus.SHIPPED:
        return order
    saga.record_transition(order, "deliver", reason="every shipment delivered")
    saga.record_transition(order, "complete", reason="delivered")
    publish(
        OrderCompleted(
            correlation_id=order.number,
            order_number=order.number,
            user_id=saga.user_id_of(order),
            customer_email=order.email,
        )
    )
    return order


def order_shipment_rejected(*, order_number: str, reason: str) -> Order | None:
    """Shipping cannot ship: mark the saga for compensation (caller's transaction); the task runs it."""
    order = _order_by_number(order_number, for_update=True)
    if order is None or order.status not in (OrderStatus.CONFIRMED, OrderStatus.FULFILLING, OrderStatus.ON_HOLD):
        return None
    if order.saga_status in (SagaStatus.COMPENSATING, SagaStatus.COMPENSATED):
        return None
    order.saga_status = SagaStatus.COMPENSATING
    order.compensation_target = OrderStatus.CANCELLED
    order.compensation_reason = f"shipping refused: {reason}"[:255]
    order.compensation_by = "system"
    order.failure_code = "shipment_rejected"
    order.saga_lease_until = saga.lease_until()  # the task runs it; if it is lost, the sweeper after the lease
    order.save()
    return order


def order_compensate(*, order: Order) -> Order:
    """Finish a compensation that was asked for (shipping refusal, sweeper)."""
    return saga.compensation_run(order=order)


def order_return_settle(
    *, order: Order, rma_number: str, decision: str, refund_minor: int, lines: list[dict], warehouse_code: str
) -> Order:
    """A return arrived: refund through payments, restock through inventory, tell shipping it is refunded."""
    order = Order.objects.get(pk=order.pk)
    done_marker = f"return:{rma_number}"[:32]
    if order.saga_steps.filter(step=done_marker, status="succeeded").exists():
        return order  # a redelivered ReturnReceived: already settled
    if decision == "refund" and refund_minor > 0:
        left = refund_minor
        for payment in order.payments.all():
            asked = list(payment.refunds.filter(rma_number=rma_number))
            if asked:  # a re-run after a crash: this payment's part was asked for already
                left -= sum(r.amount_minor for r in asked)
                if left <= 0:
                    break
                continue
            waiting = refunds.refund_waiting_minor(payment=payment)
            take = min(left, payment.captured_minor - payment.refunded_minor - waiting)
            if take <= 0:
                continue
            key = f"{order.number}:return:{rma_number}:{payment.payment_id}"
            row = saga.step_begin(order, "refund_return")
            try:
                info = payment_services.payment_refund(
                    payment_id=payment.payment_id,
                    amount_minor=take,
                    reason=f"return {rma_number}",
                    idempotency_key=key,
                )
            except Exception as exc:
                saga.step_fail(row, exc)
                raise
            with transaction.atomic():
                refund, booked = refunds.refund_record(
                    order=order, payment=payment, info=info, purpose=OrderRefund.Purpose.RETURN, rma_number=rma_number
                )
                saga.step_succeed(row)
                if booked:
                    publish(
                        OrderRefunded(
                            correlation_id=order.number,
                            order_number=order.number,
                            user_id=saga.user_id_of(order),
                            customer_email=order.email,
                            rma_number=rma_number,
                            refunded_minor=take,
                            currency=order.currency,
                        )
                    )
            # Waiting for Finance: booked (and the return marked refunded) when PaymentRefunded arrives.
            refunds.refund_catch_up(refund=refund)
            left -= take
            if left <= 0:
                break
    stock_lines = [
        inventory_services.StockLine(sku=line["sku"], quantity=int(line["quantity"]))
        for line in lines
        if int(line.get("quantity", 0)) > 0
    ]
    if stock_lines:
        row = saga.step_begin(order, "restock_return")
        try:
            inventory_services.stock_return(
                reference=order.stock_reference, lines=stock_lines, warehouse_code=warehouse_code or None
            )
        except Exception as exc:
            saga.step_fail(row, exc)
            raise
        saga.step_succeed(row)
    if decision == "refund" and refunds.return_refund_complete(order=order, rma_number=rma_number):
        shipping_services.return_mark_refunded(rma_number=rma_number)
    elif decision == "exchange":
        replacements = [
            {"sku": line.get("replacement_sku") or line["sku"], "quantity": int(line["quantity"])} for line in lines
        ]
        _reserve_replacements(order, rma_number=rma_number, lines=replacements)
        shipping_services.shipment_create_for_exchange(
            order_number=order.number,
            rma_number=rma_number,
            lines=[
                {
                    "sku": line.get("replacement_sku") or line["sku"],
                    "name": line.get("name", ""),
                    "quantity": line["quantity"],
                }
                for line in lines
            ],
            warehouse_code=warehouse_code,
        )
        shipping_services.return_mark_exchanged(rma_number=rma_number)
    saga.step_record(order, done_marker)
    return Order.objects.get(pk=order.pk)


def order_refund_succeeded(*, refund_id: str, amount_minor: int) -> OrderRefund | None:
    """Payments moved the money of a refund orders asked for (``PaymentRefunded``): book it once, publish
    ``OrderRefunded`` and, for a return, mark it refunded at shipping. Caller's transaction (the handler's)."""
    return refunds.refund_succeeded(refund_id=refund_id, amount_minor=amount_minor)


def order_refund_rejected(*, refund_id: str, note: str) -> OrderRefund | None:
    """Finance rejected a refund orders asked for (``RefundRejected``): nothing is booked; the order needs
    staff attention. Caller's transaction (the handler's)."""
    return refunds.refund_rejected(refund_id=refund_id, note=note)


def order_refund_issue_resolve(*, order: Order, by=None, reason: str = "") -> Order:
    """Staff dealt with a rejected or failed refund: the order leaves the attention list."""
    with transaction.atomic():
        order = saga.lock(order)
        if order.failure_code not in refunds.REFUND_ATTENTION_CODES:
            raise OrderActionNotAllowed("This order has no refund waiting for staff.")
        detail = order.failure_detail
        order.failure_code = ""
        order.failure_detail = ""
        order.save(update_fields=["failure_code", "failure_detail", "updated_at"])
        saga.OrderTransition.objects.create(
            order=order,
            transition="refund_issue_resolved",
            from_status=order.status,
            to_status=order.status,
            actor="staff",
            by=by if (by is not None and getattr(by, "is_authenticated", False)) else None,
            reason=f"{detail} — {reason or 'resolved by staff'}"[:500],
        )
    return order


def order_returned_to_sender(*, order: Order, shipment_number: str, reason: str) -> Order:
    """The carrier gave up and the parcel went back to the warehouse: restock it and, when it was the
    whole order, refund and cancel. A partial parcel is left to staff (orders needing attention)."""
    order = Order.objects.get(pk=order.pk)
    if order.status not in (OrderStatus.SHIPPED, OrderStatus.FULFILLING, OrderStatus.CONFIRMED):
        return order
    shipments = [s for s in shipping_selectors.shipments_for_order(order_number=order.number) if s.kind == "order"]
    parcel = next((s for s in shipments if s.number == shipment_number), None)
    if parcel is None:
        return order
    if order.stock_committed:
        row = saga.step_begin(order, "restock_returned_parcel")
        try:
            inventory_services.stock_return(
                reference=order.stock_reference,
                lines=[inventory_services.StockLine(sku=line.sku, quantity=line.quantity) for line in parcel.lines],
            )
        except Exception as exc:
            saga.step_fail(row, exc)
            raise
        saga.step_succeed(row)
    if len(shipments) > 1:
        Order.objects.filter(pk=order.pk).update(
            failure_code="returned_to_sender", failure_detail=f"parcel {shipment_number}: {reason}"[:500]
        )
        return Order.objects.get(pk=order.pk)
    return saga.compensate(
        order=order, target=OrderStatus.CANCELLED, reason=f"returned to sender: {reason}", code="returned_to_sender"
    )


def exchange_reference(order_number: str, rma_number: str) -> str:
    return f"{order_number}:{rma_number}"


def _reserve_replacements(order: Order, *, rma_number: str, lines: list[dict]) -> None:
    """Hold the replacement units of an exchange (committed when the exchange parcel is dispatched)."""
    row = saga.step_begin(order, "reserve_exchange")
    try:
        inventory_services.stock_reserve(
            reference=exchange_reference(order.number, rma_number),
            lines=[inventory_services.StockLine(sku=ln["sku"], quantity=ln["quantity"]) for ln in lines],
            ttl_minutes=settings.ORDERS_RESERVATION_TTL_MINUTES,
        )
    except inventory_services.InsufficientStock as exc:
        # The replacement ships anyway (shipping owns the parcel); staff see the failed step.
        saga.step_fail(row, exc)
        return
    except Exception as exc:
        saga.step_fail(row, exc)
        raise
    saga.step_succeed(row)


def order_exchange_dispatched(*, order_number: str, shipment_number: str) -> None:
    """The replacement parcel left: its reserved units become a sale."""
    shipment = next(
        (s for s in shipping_selectors.shipments_for_order(order_number=order_number) if s.number == shipment_number),
        None,
    )
    if shipment is None or not shipment.rma_number:
        return
    try:
        inventory_services.stock_commit(reference=exchange_reference(order_number, shipment.rma_number))
    except FlowMartError as exc:
        if exc.status >= 500:
            raise
        log.warning("exchange stock not committed", order=order_number, code=exc.code)


# -- the sweeper -------------------------------------------------------------------------------
def saga_resume(*, order: Order) -> Order:
    """Take over a saga whose process died: compensate, or carry on from the first unfinished step."""
    if not saga.lease_claim(order_id=order.pk):
        return Order.objects.get(pk=order.pk)
    order = Order.objects.get(pk=order.pk)
    if order.saga_status == SagaStatus.COMPENSATING:
        return saga.compensation_run(order=order)
    if order.status != OrderStatus.PENDING:
        return order
    failures = order.saga_steps.filter(status="failed").count()
    if failures >= saga.MAX_STEP_ATTEMPTS:
        return saga.compensate(
            order=order, target=OrderStatus.FAILED, reason="checkout could not be completed", code="saga_stuck"
        )
    try:
        return saga.saga_advance(order=order)
    except CheckoutFailed:
        return Order.objects.get(pk=order.pk)


def sagas_stuck() -> list[int]:
    """Orders whose saga is mid-way and whose lease ran out (their process died)."""
    now = timezone.now()
    return list(
        Order.objects.filter(saga_status__in=[SagaStatus.RUNNING, SagaStatus.COMPENSATING])
        .exclude(saga_lease_until__gt=now)
        .order_by("id")
        .values_list("id", flat=True)[:500]
    )


def sagas_sweep() -> int:
    """Resume or compensate every stuck saga, right here (the beat task calls this). Returns how many."""
    done = 0
    for order_id in sagas_stuck():
        try:
            saga_resume(order=Order.objects.get(pk=order_id))
            done += 1
        except Exception:
            log.warning("stuck saga could not be resumed yet", order_id=order_id, exc_info=True)
    return done


def order_refunds_check() -> int:
    """Sweeper: settle refunds still waiting here whose outcome payments knows (a gateway refusal after
    Finance approved publishes no event; a missed ``PaymentRefunded``). Returns how many changed."""
    return refunds.refunds_waiting_check()


def payment_retries_expire() -> int:
    """Close the payment-retry window: cancel the order and release its stock."""
    now = timezone.now()
    ids = list(
        Order.objects.filter(status=OrderStatus.PAYMENT_FAILED, retry_until__lte=now)
        .exclude(saga_status=SagaStatus.COMPENSATED)
        .values_list("id", flat=True)[:500]
    )
    for order_id in ids:
        saga.compensate(
            order=Order.objects.get(pk=order_id),
            target=OrderStatus.CANCELLED,
            reason="payment was not completed in time",
        )
    return len(ids)


def orders_to_settle() -> list[int]:
    """Dispatched orders whose capture or stock commit did not happen yet (lost task)."""
    cutoff = timezone.now() - timedelta(minutes=5)
    return list(
        Order.objects.filter(
            status__in=[OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED],
            stock_committed=False,
            shipped_at__lte=cutoff,
        )
        .exclude(failure_code="settle_failed")
        .values_list("id", flat=True)[:500]
    )


def order_get_by_number(*, order_number: str) -> Order | None:
    return Order.objects.filter(number=order_number).first()


def shipping_options(*, basket_view, address: dict, perks) -> list:
    """Shipping methods (with prices after perks) for the basket going to ``address``."""

    discount = sum(
        line_discount_minor(
            line_total_minor=line.line_total_minor, currency=basket_view.currency, percent_off=perks.percent_off
        )
        for line in basket_view.lines
    )
    return shipping_quotes(
        address=address,
        lines=[{"sku": ln.sku, "quantity": ln.quantity, "weight_grams": ln.weight_grams} for ln in basket_view.lines],
        subtotal_minor=basket_view.subtotal_minor - discount,
        currency=basket_view.currency,
        perks=perks,
    )
