"""Tables of the shipping app: used by this app only (other apps go through services/selectors)."""

from __future__ import annotations

from datetime import timedelta

import pghistory
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django_fsm import FSMField, FSMModelMixin, transition

from flowmart.staff.change_log import track_changes
from flowmart.transitions import TransitionLog
from shipping.carriers import CARRIER_CHOICES, carrier_missing_settings
from shipping.numbers import new_rma_number, new_shipment_number

# --- Rates --------------------------------------------------------------------------


@track_changes(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class ShippingZone(models.Model):
    """Countries served with the same methods and prices."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    countries = ArrayField(models.CharField(max_length=2), default=list, help_text="ISO 3166-1 alpha-2 codes")
    sort_order = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return self.name


@track_changes(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class ShippingMethod(models.Model):
    """A way to ship into a zone (standard, express, pickup) with its delivery estimate."""

    zone = models.ForeignKey(ShippingZone, on_delete=models.CASCADE, related_name="methods")
    code = models.SlugField(max_length=32, help_text="standard, express, pickup, …")
    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3, default="USD")
    min_days = models.PositiveSmallIntegerField()
    max_days = models.PositiveSmallIntegerField()
    free_over_minor = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Free when the order subtotal reaches this (minor units); empty: never"
    )
    max_weight_grams = models.PositiveIntegerField(null=True, blank=True, help_text="Heavier parcels cannot use it")
    perk_eligible = models.BooleanField(default=True, help_text="Member perks (free/cheaper shipping) apply")
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)
    carrier = models.CharField(
        max_length=32,
        blank=True,
        choices=CARRIER_CHOICES,
        help_text="Who carries parcels of this method; empty: the shop default (SHIPPING_CARRIER, the sandbox)",
    )
    carrier_service = models.CharField(
        max_length=64,
        blank=True,
        help_text='The carrier\'s service to buy, as "CARRIER/Service" (e.g. "USPS/Priority"); empty: the cheapest',
    )
    live_rates = models.BooleanField(
        default=False,
        help_text="Ask the carrier for the price at checkout; the flat rates below apply when it does not answer",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["zone", "code"], name="shipping_method_unique_code_per_zone")]

    def __str__(self) -> str:
        return f"{self.name} ({self.zone.code})"

    def clean(self) -> None:
        missing = carrier_missing_settings(self.carrier)
        if missing:
            raise ValidationError(
                {"carrier": f"Set {', '.join(missing)} in the environment before a method uses this carrier."}
            )
        if self.carrier_service and "/" not in self.carrier_service:
            raise ValidationError({"carrier_service": 'Write the service as "CARRIER/Service", e.g. "USPS/Priority".'})


@track_changes(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class ShippingRate(models.Model):
    """Price of a method for parcels up to ``max_weight_grams`` and orders from ``min_subtotal_minor``.

    The matching band is the lightest one that fits; among those the highest order-value floor wins.
    """

    method = models.ForeignKey(ShippingMethod, on_delete=models.CASCADE, related_name="rates")
    max_weight_grams = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no upper limit")
    min_subtotal_minor = models.PositiveBigIntegerField(default=0)
    price_minor = models.PositiveBigIntegerField()

    def __str__(self) -> str:
        upto = f"≤{self.max_weight_grams} g" if self.max_weight_grams else "any weight"
        return f"{self.method.code} {upto} from {self.min_subtotal_minor}: {self.price_minor}"


# --- Shipments ----------------------------------------------------------------------


class Shipment(FSMModelMixin, models.Model):
    """One parcel from one warehouse to the customer (orders may be split)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        LABEL_CREATED = "label_created"
        DISPATCHED = "dispatched"
        IN_TRANSIT = "in_transit"
        DELIVERY_FAILED = "delivery_failed"
        DELIVERED = "delivered"
        RETURNED_TO_SENDER = "returned_to_sender"
        CANCELLED = "cancelled"

    class Kind(models.TextChoices):
        ORDER = "order"
        EXCHANGE = "exchange"

    ACTIVE = (Status.LABEL_CREATED, Status.DISPATCHED, Status.IN_TRANSIT, Status.DELIVERY_FAILED)
    NOT_DISPATCHED = (Status.PENDING, Status.LABEL_CREATED)

    number = models.CharField(max_length=20, unique=True, default=new_shipment_number, editable=False)
    order_number = models.CharField(max_length=32, db_index=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ORDER)
    rma_number = models.CharField(max_length=20, blank=True)
    user_id = models.CharField(max_length=36, null=True, blank=True, db_index=True, help_text="User.public_id")
    customer_email = models.EmailField(blank=True)
    customer_name = models.CharField(max_length=150, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    order_shipping_minor = models.PositiveBigIntegerField(
        default=0, help_text="What the customer paid for shipping the whole order (refunded by the return policy)"
    )
    warehouse_code = models.CharField(max_length=32)
    method_code = models.CharField(max_length=32, default="standard")
    address = models.JSONField(help_text="name, line1, line2, city, region, postal_code, country, phone")

    status = FSMField(default=Status.PENDING, choices=Status.choices, protected=True)
    carrier = models.CharField(max_length=32, blank=True)
    tracking_number = models.CharField(max_length=64, null=True, blank=True, unique=True)
    label_id = models.CharField(max_length=64, blank=True)
    label_url = models.URLField(max_length=500, blank=True, help_text="The carrier's printable label, if it issues one")
    label_created_at = models.DateTimeField(null=True, blank=True)
    label_cancelled_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True, db_index=True)  # the delivery report
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    last_sequence = models.PositiveIntegerField(default=0, help_text="Last carrier update applied")
    last_polled_at = models.DateTimeField(null=True, blank=True)
    label_error = models.TextField(blank=True)
    # The order is on hold, or being cancelled: no label is bought for this parcel and none it had stays valid
    # (``shipments_stop_for_order``); released by ``shipments_release_for_order``.
    held = models.BooleanField(default=False)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Staff roles (docs/staff.md §Roles): one permission per staff action.
        permissions = [
            ("dispatch_shipment", "Dispatch shipments"),
            ("cancel_shipment", "Cancel shipments before dispatch"),
        ]
        indexes = [models.Index(fields=["status", "last_polled_at"], name="shipping_shipment_poll_idx")]

    def __str__(self) -> str:
        return self.number

    @property
    def city(self) -> str:
        return (self.address or {}).get("city", "")

    @property
    def country(self) -> str:
        return (self.address or {}).get("country", "")

    @property
    def can_cancel(self) -> bool:
        return self.status in self.NOT_DISPATCHED

    # Transitions: the caller records them with ``shipment_transition_log`` (services.py).
    @transition(field=status, source=Status.PENDING, target=Status.LABEL_CREATED)
    def create_label(self, *, carrier: str, tracking_number: str, label_id: str, label_url: str = "") -> None:
        self.carrier = carrier
        self.tracking_number = tracking_number
        self.label_id = label_id
        self.label_url = label_url
        self.label_created_at = timezone.now()
        self.label_error = ""

    @transition(field=status, source=Status.LABEL_CREATED, target=Status.PENDING)
    def relabel(self) -> None:
        """The address changed after the label was printed: void it and print a new one."""
        self.tracking_number = None
        self.label_id = ""
        self.label_url = ""
        self.label_created_at = None
        self.last_sequence = 0

    @transition(field=status, source=Status.LABEL_CREATED, target=Status.DISPATCHED)
    def dispatch(self) -> None:
        self.dispatched_at = timezone.now()

    @transition(field=status, source=[Status.DISPATCHED, Status.DELIVERY_FAILED], target=Status.IN_TRANSIT)
    def move(self) -> None:
        pass

    @transition(field=status, source=Status.IN_TRANSIT, target=Status.DELIVERY_FAILED)
    def fail_delivery(self) -> None:
        self.failed_attempts += 1

    @transition(field=status, source=Status.DELIVERY_FAILED, target=Status.RETURNED_TO_SENDER)
    def return_to_sender(self) -> None:
        pass

    @transition(field=status, source=Status.IN_TRANSIT, target=Status.DELIVERED)
    def deliver(self) -> None:
        self.delivered_at = timezone.now()

    @transition(field=status, source=[Status.PENDING, Status.LABEL_CREATED], target=Status.CANCELLED)
    def cancel(self) -> None:
        pass

    def return_window_ends_at(self):
        if self.delivered_at is None:
            return None
        return self.delivered_at + timedelta(days=settings.RETURN_WINDOW_DAYS)


class DeliveryFailure(models.Model):
    """One failed delivery attempt of a shipment and what follows it: the new estimate (the carrier's, or the
    shop's rule when it gives none), what the customer may choose, and the instruction passed to the carrier
    (the customer's choice, or ``return`` when the shop gives up after ``SHIPPING_MAX_DELIVERY_ATTEMPTS``)."""

    class EstimateSource(models.TextChoices):
        CARRIER = "carrier", "the carrier's estimate"
        SHOP_RULE = "shop_rule", "our estimate"

    class Instruction(models.TextChoices):
        REDELIVER = "redeliver", "Deliver again"
        PICKUP = "pickup", "Collect from the pick-up point"
        RETURN = "return", "Return to sender"

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="delivery_failures")
    attempt = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=255, help_text="The carrier's words")
    failed_at = models.DateTimeField(help_text="When the carrier says the attempt failed", db_index=True)
    recorded_at = models.DateTimeField(default=timezone.now)
    options_checked_at = models.DateTimeField(null=True, blank=True, help_text="When the new estimate was set")
    estimated_delivery_date = models.DateField(null=True, blank=True)
    estimate_source = models.CharField(max_length=10, choices=EstimateSource.choices, blank=True)
    choices = ArrayField(models.CharField(max_length=10), default=list, blank=True, help_text="Offered to the customer")
    pickup_point = models.CharField(max_length=200, blank=True)
    instruction = models.CharField(max_length=10, choices=Instruction.choices, blank=True)
    instruction_at = models.DateTimeField(null=True, blank=True)
    instruction_sent_at = models.DateTimeField(null=True, blank=True, help_text="The carrier accepted it")
    instruction_error = models.CharField(max_length=255, blank=True, help_text="The carrier refused it: staff act")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shipment", "attempt"], name="shipping_delivery_failure_unique_attempt"),
        ]

    def __str__(self) -> str:
        return f"{self.shipment_id} attempt {self.attempt}"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price_minor = models.PositiveBigIntegerField(default=0)
    charged_minor = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="What was charged for these units after every discount (null: not known)"
    )
    weight_grams = models.PositiveIntegerField(default=0)

    class Meta:
        # A document's lines are read in the order they were written, everywhere (pages, API, event payloads).
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"


class ShipmentTransition(TransitionLog):
    """The shipment's state log: who moved it, when, from where to where, and why."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="transitions")


class TrackingEvent(models.Model):
    """One carrier update, stored once (by carrier event id) and applied in sequence order."""

    class Source(models.TextChoices):
        POLL = "poll"
        WEBHOOK = "webhook"
        STAFF = "staff"

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="tracking_events")
    carrier_event_id = models.CharField(max_length=100, unique=True)
    sequence = models.PositiveIntegerField()
    code = models.CharField(max_length=32, help_text="picked_up, in_transit, delivery_failed, delivered, …")
    description = models.CharField(max_length=255)
    location = models.CharField(max_length=100, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=10, choices=Source.choices)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shipment", "sequence"], name="shipping_tracking_unique_sequence"),
        ]

    def __str__(self) -> str:
        return f"{self.shipment_id}#{self.sequence} {self.code}"


# --- Returns ------------------------------------------------------------------------


class ReturnRequest(FSMModelMixin, models.Model):
    """A return merchandise authorisation (RMA)."""

    class Status(models.TextChoices):
        REQUESTED = "requested"
        APPROVED = "approved"
        REJECTED = "rejected"
        RECEIVED = "received"
        AWAITING_STOCK = "awaiting_stock", "Exchange waiting for stock"
        REFUNDED = "refunded"
        EXCHANGED = "exchanged"

    class Decision(models.TextChoices):
        REFUND = "refund"
        EXCHANGE = "exchange"

    class ReasonCode(models.TextChoices):
        CHANGED_MIND = "changed_mind", "Changed my mind"
        DOES_NOT_FIT = "does_not_fit", "Does not fit"
        NOT_AS_DESCRIBED = "not_as_described", "Not as described"
        ARRIVED_DAMAGED = "arrived_damaged", "Arrived damaged"
        WRONG_ITEM = "wrong_item", "Wrong item sent"
        OTHER = "other", "Other"

    # The shop's fault: shipping is refunded with the goods (docs/orders.md §Returns and exchanges).
    SHOP_AT_FAULT_REASONS = frozenset({ReasonCode.ARRIVED_DAMAGED, ReasonCode.WRONG_ITEM})

    rma_number = models.CharField(max_length=20, unique=True, default=new_rma_number, editable=False)
    order_number = models.CharField(max_length=32, db_index=True)
    user_id = models.CharField(max_length=36, null=True, blank=True, db_index=True)
    customer_email = models.EmailField(blank=True)
    currency = models.CharField(max_length=3, default="USD")
    warehouse_code = models.CharField(max_length=32, help_text="Where the goods come back to")
    reason = models.TextField()
    reason_code = models.CharField(max_length=20, choices=ReasonCode.choices, default=ReasonCode.OTHER)
    status = FSMField(default=Status.REQUESTED, choices=Status.choices, protected=True)
    requested = models.CharField(
        max_length=10, choices=Decision.choices, default=Decision.REFUND, help_text="What the customer asked for"
    )
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    shop_at_fault = models.BooleanField(default=False, help_text="Decided at inspection; refunds the shipping")
    goods_refund_minor = models.PositiveBigIntegerField(default=0, help_text="Refund for the goods (inspection)")
    exchange_charge_minor = models.PositiveBigIntegerField(
        default=0, help_text="Exchange for dearer variants: the difference charged when the replacement is reserved"
    )
    shipping_refund_minor = models.PositiveBigIntegerField(default=0, help_text="Refund of the shipping charge")
    refund_minor = models.PositiveBigIntegerField(default=0, help_text="Goods + shipping refunded")
    staff_note = models.TextField(blank=True, help_text="Rejection reason or inspection notes")
    return_carrier = models.CharField(max_length=32, blank=True)
    return_tracking_number = models.CharField(max_length=64, blank=True)
    return_label_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)  # returns by period
    decided_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Staff roles (docs/staff.md §Roles): one permission per staff action.
        permissions = [
            ("decide_return", "Approve or reject returns"),
            ("receive_return", "Receive and inspect returns"),
        ]

    def __str__(self) -> str:
        return self.rma_number

    @transition(field=status, source=Status.REQUESTED, target=Status.APPROVED)
    def approve(self) -> None:
        self.decided_at = timezone.now()

    @transition(field=status, source=Status.REQUESTED, target=Status.REJECTED)
    def reject(self, *, note: str) -> None:
        self.decided_at = timezone.now()
        self.staff_note = note

    @transition(field=status, source=Status.APPROVED, target=Status.RECEIVED)
    def receive(
        self,
        *,
        decision: str,
        shop_at_fault: bool,
        goods_refund_minor: int,
        shipping_refund_minor: int,
        exchange_charge_minor: int,
        note: str,
    ) -> None:
        self.received_at = timezone.now()
        self.decision = decision
        self.exchange_charge_minor = exchange_charge_minor
        self.shop_at_fault = shop_at_fault
        self.goods_refund_minor = goods_refund_minor
        self.shipping_refund_minor = shipping_refund_minor
        self.refund_minor = goods_refund_minor + shipping_refund_minor
        self.staff_note = note

    @transition(
        field=status,
        source=Status.RECEIVED,
        target=Status.AWAITING_STOCK,
        conditions=[lambda r: r.decision == ReturnRequest.Decision.EXCHANGE],
    )
    def await_stock(self) -> None:
        """The replacement could not be reserved: the exchange waits (retried by orders' sweeper)."""

    @transition(
        field=status,
        source=[Status.AWAITING_STOCK, Status.RECEIVED],
        target=Status.RECEIVED,
        conditions=[lambda r: r.decision == ReturnRequest.Decision.EXCHANGE],
    )
    def exchange_to_refund(self, *, goods_refund_minor: int) -> None:
        """The replacement never came back in stock in time, or its price difference could not be charged: the
        exchange becomes a refund of the goods."""
        self.decision = ReturnRequest.Decision.REFUND
        self.exchange_charge_minor = 0
        self.goods_refund_minor = goods_refund_minor
        self.refund_minor = goods_refund_minor + self.shipping_refund_minor

    @transition(
        field=status,
        source=Status.RECEIVED,
        target=Status.REFUNDED,
        conditions=[lambda r: r.decision == ReturnRequest.Decision.REFUND],
    )
    def mark_refunded(self) -> None:
        self.closed_at = timezone.now()

    @transition(
        field=status,
        source=[Status.RECEIVED, Status.AWAITING_STOCK],
        target=Status.EXCHANGED,
        conditions=[lambda r: r.decision == ReturnRequest.Decision.EXCHANGE],
    )
    def mark_exchanged(self) -> None:
        self.closed_at = timezone.now()


class ReturnLine(models.Model):
    class Condition(models.TextChoices):
        RESELLABLE = "resellable", "Resellable (back on sale)"
        DAMAGED = "damaged", "Damaged (written off)"
        MISSING = "missing", "Missing from the parcel"

    return_request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="lines")
    shipment_line = models.ForeignKey(ShipmentLine, on_delete=models.PROTECT, related_name="return_lines")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price_minor = models.PositiveBigIntegerField(default=0)
    charged_minor = models.PositiveBigIntegerField(
        default=0, help_text="What the customer paid for these units, after every discount"
    )
    replacement_sku = models.CharField(max_length=64, blank=True)
    replacement_charged_minor = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="Exchange the customer asked for: what the replacement units cost them (null: staff's choice)",
    )
    condition = models.CharField(max_length=12, choices=Condition.choices, blank=True, help_text="Inspection")
    refundable = models.BooleanField(default=True)
    not_refundable_reason = models.CharField(max_length=255, blank=True)
    refund_minor = models.PositiveBigIntegerField(default=0, help_text="Refunded for these units (inspection)")

    class Meta:
        # A document's lines are read in the order they were written, everywhere (pages, API, event payloads).
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"


class ReturnTransition(TransitionLog):
    """The return's state log."""

    return_request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="transitions")
