"""Read-only queries of the shipping app. Public ones return plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Prefetch, QuerySet

from shipping.countries import country_name
from shipping.exports import returns_export  # noqa: F401 (re-exported: manage.py export)
from shipping.figures import (  # noqa: F401 (re-exported: the reports' figures)
    DeliveryRates,
    delivery_failures_by_reason,
    delivery_rates,
    returns_by_status,
)
from shipping.models import (
    DeliveryFailure,
    ReturnRequest,
    ReturnTransition,
    Shipment,
    ShipmentLine,
    ShipmentTransition,
    ShippingZone,
    TrackingEvent,
)
from shipping.returns import returnable_quantities
from shipping.tracking import tracking_url


@dataclass(frozen=True)
class ShipmentLineInfo:
    sku: str
    name: str
    quantity: int


@dataclass(frozen=True)
class TrackingStep:
    at: datetime
    status: str
    description: str
    location: str


@dataclass(frozen=True)
class DeliveryFailureInfo:
    """The latest failed attempt of a parcel, as its customer sees it.

    ``estimated_delivery_date`` is None until the estimate is in (the carrier's, ``estimate_source`` "carrier",
    or the shop's rule, "shop_rule"); ``choices`` are what the customer may still choose now (empty once chosen,
    or once the carrier re-attempts); ``choice`` is what they chose ("" if nothing)."""

    attempt: int
    reason: str
    failed_at: datetime
    estimated_delivery_date: date | None
    estimate_source: str
    estimate_source_display: str
    choices: tuple[str, ...]
    pickup_point: str
    choice: str
    choice_display: str


@dataclass(frozen=True)
class ShipmentInfo:
    number: str
    order_number: str
    kind: str  # order | exchange
    rma_number: str
    status: str
    status_display: str
    warehouse_code: str
    method_code: str
    carrier: str
    tracking_number: str
    tracking_url: str
    destination_city: str
    destination_country: str
    lines: tuple[ShipmentLineInfo, ...]
    history: tuple[TrackingStep, ...]
    created_at: datetime
    dispatched_at: datetime | None
    delivered_at: datetime | None
    failed_attempts: int = 0
    delivery_failure: DeliveryFailureInfo | None = None


@dataclass(frozen=True)
class PublicTracking:
    """What anyone holding a tracking number may see: no names, streets, phones or emails."""

    tracking_number: str
    status: str
    status_display: str
    carrier: str
    destination_city: str
    destination_country: str
    dispatched_at: datetime | None
    delivered_at: datetime | None
    history: tuple[TrackingStep, ...]


def _history(shipment: Shipment) -> tuple[TrackingStep, ...]:
    """The customer-facing timeline: state changes, with the carrier's wording where it has one."""
    steps = [
        (t.at, 0, TrackingStep(at=t.at, status=t.to_state, description=_describe(t), location=""))
        for t in shipment.transitions.all()
        # Moves the carrier reported are shown once, in the carrier's own words below.
        if not (t.actor == "carrier" and t.to_state in _CARRIER_STATES)
    ]
    steps += [
        (
            e.occurred_at,
            1,
            TrackingStep(at=e.occurred_at, status=e.code, description=e.description, location=e.location),
        )
        for e in shipment.tracking_events.all()
    ]
    return tuple(step for _, _, step in sorted(steps, key=lambda s: (s[0], s[1])))


S = Shipment.Status
_CARRIER_STATES = {S.DISPATCHED, S.IN_TRANSIT, S.DELIVERY_FAILED, S.DELIVERED, S.RETURNED_TO_SENDER}


_STATE_TEXT = {
    S.LABEL_CREATED: "Label created: waiting for the carrier",
    S.DISPATCHED: "Dispatched from our warehouse",
    S.IN_TRANSIT: "On its way",
    S.DELIVERY_FAILED: "Delivery attempt failed",
    S.DELIVERED: "Delivered",
    S.RETURNED_TO_SENDER: "Returned to sender",
    S.CANCELLED: "Cancelled",
    S.PENDING: "Being prepared",
}


def _describe(transition: ShipmentTransition) -> str:
    return _STATE_TEXT.get(transition.to_state, transition.to_state)


def _with_history(qs: QuerySet[Shipment]) -> QuerySet[Shipment]:
    return qs.prefetch_related(
        "lines",
        Prefetch("transitions", queryset=ShipmentTransition.objects.order_by("at", "id")),
        Prefetch("tracking_events", queryset=TrackingEvent.objects.order_by("sequence")),
        Prefetch("delivery_failures", queryset=DeliveryFailure.objects.order_by("attempt")),
    )


def _latest_failure(shipment: Shipment) -> DeliveryFailureInfo | None:
    failures = list(shipment.delivery_failures.all())
    if not failures:
        return None
    failure = failures[-1]
    waiting = shipment.status == S.DELIVERY_FAILED and failure.attempt == shipment.failed_attempts
    customer_choice = failure.instruction if failure.instruction != DeliveryFailure.Instruction.RETURN else ""
    return DeliveryFailureInfo(
        attempt=failure.attempt,
        reason=failure.reason,
        failed_at=failure.failed_at,
        estimated_delivery_date=failure.estimated_delivery_date,
        estimate_source=failure.estimate_source,
        estimate_source_display=failure.get_estimate_source_display() if failure.estimate_source else "",
        choices=tuple(failure.choices) if waiting and not failure.instruction else (),
        pickup_point=failure.pickup_point,
        choice=customer_choice,
        choice_display=failure.get_instruction_display() if customer_choice else "",
    )


def delivery_problem(*, shipment_number: str) -> str:
    """What staff must know now about a parcel the carrier could not deliver; "" once it was delivered or came
    back (or never failed). Read from the current state, so handlers of one flow's events agree whatever order
    they run in."""
    shipment = Shipment.objects.filter(number=shipment_number).first()
    if shipment is None or not shipment.failed_attempts or shipment.status in (S.DELIVERED, S.RETURNED_TO_SENDER):
        return ""
    failure = shipment.delivery_failures.order_by("-attempt").first()
    if failure is None:
        return ""
    refused = failure.instruction == DeliveryFailure.Instruction.RETURN and failure.instruction_error
    if refused and failure.instruction_sent_at is None:
        return (
            f"parcel {shipment.number}: the carrier refused to return it after attempt {failure.attempt} "
            f"({failure.instruction_error}). Arrange the return with the carrier, then mark it in Shipments."
        )
    return f"parcel {shipment.number}: delivery attempt {failure.attempt} failed: {failure.reason}"


def shipment_info(shipment: Shipment) -> ShipmentInfo:
    return ShipmentInfo(
        number=shipment.number,
        order_number=shipment.order_number,
        kind=shipment.kind,
        rma_number=shipment.rma_number,
        status=shipment.status,
        status_display=shipment.get_status_display(),
        warehouse_code=shipment.warehouse_code,
        method_code=shipment.method_code,
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number or "",
        tracking_url=tracking_url(shipment.tracking_number),
        destination_city=shipment.city,
        destination_country=shipment.country,
        lines=tuple(ShipmentLineInfo(sku=li.sku, name=li.name, quantity=li.quantity) for li in shipment.lines.all()),
        history=_history(shipment),
        created_at=shipment.created_at,
        dispatched_at=shipment.dispatched_at,
        delivered_at=shipment.delivered_at,
        failed_attempts=shipment.failed_attempts,
        delivery_failure=_latest_failure(shipment),
    )


def shipments_for_order(*, order_number: str, user_id: str | None = None) -> list[ShipmentInfo]:
    """Every shipment of an order (oldest first). With ``user_id``: only if the order is that user's."""
    qs = Shipment.objects.filter(order_number=order_number)
    if user_id is not None:
        qs = qs.filter(user_id=str(user_id))
    return [shipment_info(s) for s in _with_history(qs.order_by("created_at", "id"))]


def shipment_for_order(*, order_number: str, shipment_number: str, user_id: str | None = None) -> ShipmentInfo | None:
    return next(
        (s for s in shipments_for_order(order_number=order_number, user_id=user_id) if s.number == shipment_number),
        None,
    )


def _public_tracking(shipment: Shipment) -> PublicTracking:
    return PublicTracking(
        tracking_number=shipment.tracking_number,
        status=shipment.status,
        status_display=shipment.get_status_display(),
        carrier=shipment.carrier,
        destination_city=shipment.city,
        destination_country=shipment.country,
        dispatched_at=shipment.dispatched_at,
        delivered_at=shipment.delivered_at,
        history=_history(shipment),
    )


def tracking_for_number(*, tracking_number: str) -> PublicTracking | None:
    # Customers type tracking numbers in any case; ours are upper-case.
    shipment = _with_history(Shipment.objects.filter(tracking_number=tracking_number.strip().upper())).first()
    return _public_tracking(shipment) if shipment is not None else None


def tracking_for_order(*, order_number: str, email: str) -> list[PublicTracking]:
    """The parcels of an order that have a tracking number, found by the order number and the email it was
    placed with (both must match; [] otherwise, the same whichever was wrong)."""
    order_number, email = order_number.strip().upper(), email.strip()
    if not order_number or not email:
        return []
    shipments = _with_history(
        Shipment.objects.filter(order_number=order_number, customer_email__iexact=email, tracking_number__isnull=False)
    ).order_by("created_at", "number")
    return [_public_tracking(shipment) for shipment in shipments]


def pick_list(*, warehouse_code: str) -> list[dict]:
    """What to pick in a warehouse for shipments waiting to be dispatched: one row per sku."""
    rows: dict[str, dict] = {}
    shipments = Shipment.objects.filter(warehouse_code=warehouse_code, status__in=Shipment.NOT_DISPATCHED)
    for shipment in shipments.prefetch_related("lines").order_by("created_at", "id"):
        for line in shipment.lines.all():
            row = rows.setdefault(line.sku, {"sku": line.sku, "name": line.name, "quantity": 0, "shipments": []})
            row["quantity"] += line.quantity
            row["shipments"].append(shipment.number)
    return sorted(rows.values(), key=lambda r: r["sku"])


def warehouses_with_open_shipments() -> list[str]:
    return list(
        Shipment.objects.filter(status__in=Shipment.NOT_DISPATCHED)
        .order_by("warehouse_code")
        .values_list("warehouse_code", flat=True)
        .distinct()
    )


def returns_for_user(*, user_id: str) -> QuerySet[ReturnRequest]:
    return (
        ReturnRequest.objects.filter(user_id=str(user_id))
        .prefetch_related("lines", Prefetch("transitions", queryset=ReturnTransition.objects.order_by("at", "id")))
        .order_by("-created_at", "rma_number")
    )


def returns_none() -> QuerySet[ReturnRequest]:
    return ReturnRequest.objects.none()


def return_for_user(*, rma_number: str, user_id: str) -> ReturnRequest | None:
    return returns_for_user(user_id=user_id).filter(rma_number=rma_number).first()


def return_get(*, rma_number: str) -> ReturnRequest | None:
    return ReturnRequest.objects.filter(rma_number=rma_number).prefetch_related("lines").first()


def returnable_lines_for_order(*, order_number: str, user_id: str | None) -> list[dict] | None:
    """Lines the user may still return: [{sku, name, quantity}]; ``None`` if the order is not theirs.

    ``user_id`` ``None``: a guest's order, which the caller has checked the guest may open."""
    user_id = str(user_id) if user_id is not None else None
    if not Shipment.objects.filter(order_number=order_number, user_id=user_id).exists():  # None: IS NULL
        return None
    quantities = returnable_quantities(order_number=order_number, user_id=user_id)
    rows: dict[str, dict] = {}
    for line in ShipmentLine.objects.filter(pk__in=quantities).order_by("id"):
        if quantities[line.pk] <= 0:
            continue
        row = rows.setdefault(line.sku, {"sku": line.sku, "name": line.name, "quantity": 0})
        row["quantity"] += quantities[line.pk]
    return list(rows.values())


def returns_awaiting_stock() -> QuerySet[ReturnRequest]:
    """Exchanges whose replacement could not be reserved yet, oldest received first (orders' sweeper)."""
    return (
        ReturnRequest.objects.filter(status=ReturnRequest.Status.AWAITING_STOCK)
        .prefetch_related("lines")
        .order_by("received_at", "id")
    )


def return_reason_codes() -> list[tuple[str, str]]:
    """The reasons a customer can pick for a return (code, label); ``arrived_damaged`` and ``wrong_item`` are the
    shop's fault."""
    return list(ReturnRequest.ReasonCode.choices)


def shipments_for_staff(*, status: str = "", order_number: str = "", warehouse_code: str = "") -> QuerySet[Shipment]:
    """Every shipment, newest first, with its lines, for the staff API."""
    shipments = Shipment.objects.order_by("-created_at", "-id").prefetch_related("lines")
    if status:
        shipments = shipments.filter(status=status)
    if order_number:
        shipments = shipments.filter(order_number=order_number)
    if warehouse_code:
        shipments = shipments.filter(warehouse_code=warehouse_code)
    return shipments


def returns_for_staff(*, status: str = "", order_number: str = "") -> QuerySet[ReturnRequest]:
    """Every return, newest first, with its lines and history, for the staff API."""
    returns = ReturnRequest.objects.order_by("-created_at", "-id").prefetch_related("lines", "transitions")
    if status:
        returns = returns.filter(status=status)
    if order_number:
        returns = returns.filter(order_number=order_number)
    return returns


def shipping_countries() -> list[tuple[str, str]]:
    """(code, name) of every country some zone ships to, by name: the address forms' country choices."""
    codes = {code for countries in ShippingZone.objects.values_list("countries", flat=True) for code in countries}
    return sorted(((code, country_name(code)) for code in codes), key=lambda choice: choice[1])
