"""Tables of the orders app: used by this app only (other apps go through services/selectors).

Nothing here points at another domain app's tables: order lines snapshot the
SKU, name and price; payments and reservations are referenced by their public
ids / the order's reference (``order:FM-…``).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_fsm import FSMField, FSMModelMixin, transition

from flowmart.notes import NoteLog
from flowmart.transitions import TransitionLog


class Basket(models.Model):
    """A shopping basket: a guest's (found through the session) or a customer's (one per user)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="basket"
    )
    currency = models.CharField(max_length=3, default="USD")
    # Bumped on every change, so a checkout knows which contents it priced.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"basket {self.public_id} ({self.user or 'guest'})"


class BasketLine(models.Model):
    basket = models.ForeignKey(Basket, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    # The unit price the customer last saw: a different current price is reported as a change.
    seen_unit_price_minor = models.BigIntegerField()
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # A basket lists its lines in the order they were added, everywhere (page, API, checkout).
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["basket", "sku"], name="orders_basketline_unique_sku"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="orders_basketline_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CONFIRMED = "confirmed", "Confirmed"
    FULFILLING = "fulfilling", "Fulfilling"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    COMPLETED = "completed", "Completed"
    PAYMENT_FAILED = "payment_failed", "Payment failed"
    ON_HOLD = "on_hold", "On hold"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


class SagaStatus(models.TextChoices):
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting for the customer"  # payment_failed: retry window open
    COMPLETED = "completed", "Completed"
    COMPENSATING = "compensating", "Compensating"
    COMPENSATED = "compensated", "Compensated"


CANCELLABLE_BY_CUSTOMER = [
    OrderStatus.PENDING,
    OrderStatus.CONFIRMED,
    OrderStatus.FULFILLING,
    OrderStatus.PAYMENT_FAILED,
    OrderStatus.ON_HOLD,
]
CANCELLABLE_BY_STAFF = [*CANCELLABLE_BY_CUSTOMER, OrderStatus.SHIPPED]
AMENDABLE = [OrderStatus.CONFIRMED, OrderStatus.ON_HOLD]

# What puts an order on the staff's attention list (``orders.selectors.orders_needing_attention``): a saga
# still under way (stuck once its lease has expired, which depends on the time, so the selector checks that),
# or a flag that needs someone: on hold, one of these failures, a parcel the carrier failed to deliver, an open
# chargeback. The partial index ``orders_order_attention`` holds just these orders, so the list and its count
# read a handful of index entries instead of every order.
ATTENTION_FAILURE_CODES = [
    "settle_failed",
    "returned_to_sender",
    "refund_rejected",
    "refund_failed",
    "authorization_expired",
    "parcel_left",
    "reauthorization_failed",
]
SAGA_UNDER_WAY = models.Q(saga_status__in=[SagaStatus.RUNNING, SagaStatus.COMPENSATING])
FLAGGED_FOR_ATTENTION = (
    models.Q(status=OrderStatus.ON_HOLD)
    | models.Q(failure_code__in=ATTENTION_FAILURE_CODES)
    | ~models.Q(delivery_problems={})
    | models.Q(disputed=True)
)


class Order(FSMModelMixin, models.Model):
    """An order: a snapshot of the basket at checkout, driven through its lifecycle by the saga."""

    number = models.CharField(max_length=16, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    basket_public_id = models.UUIDField(null=True, blank=True, db_index=True)
    basket_version = models.PositiveIntegerField(default=0)
    # The checkout request's Idempotency-Key (a digest, scoped to the caller), written with the order: a retry
    # of that request finds this order whatever happened to the first response.
    checkout_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    email = models.EmailField()
    customer_name = models.CharField(max_length=150, blank=True)

    status = FSMField(default=OrderStatus.PENDING, choices=OrderStatus.choices, protected=True, db_index=True)

    currency = models.CharField(max_length=3)
    subtotal_minor = models.BigIntegerField(default=0)
    discount_minor = models.BigIntegerField(default=0)
    shipping_minor = models.BigIntegerField(default=0)
    total_minor = models.BigIntegerField(default=0)
    perk_percent_off = models.PositiveSmallIntegerField(default=0)
    perk_free_shipping = models.BooleanField(default=False)
    member_tier = models.CharField(max_length=64, blank=True)

    shipping_method = models.CharField(max_length=64)
    shipping_method_name = models.CharField(max_length=150, blank=True)
    shipping_address = models.JSONField(default=dict)
    payment_method = models.CharField(max_length=255, blank=True, help_text="gateway payment-method token")

    # Money seen at the gateway, in minor units (what payments reported back).
    authorized_minor = models.BigIntegerField(default=0)
    captured_minor = models.BigIntegerField(default=0)
    refunded_minor = models.BigIntegerField(default=0)
    payment_round = models.PositiveSmallIntegerField(default=1)  # bumped by each payment retry
    amendment_count = models.PositiveSmallIntegerField(default=0)
    stock_reserved = models.BooleanField(default=False)
    stock_committed = models.BooleanField(default=False)
    stock_released = models.BooleanField(default=False)

    # Saga bookkeeping (docs/architecture.md §Saga).
    saga_status = models.CharField(max_length=16, choices=SagaStatus.choices, default=SagaStatus.RUNNING, db_index=True)
    saga_lease_until = models.DateTimeField(null=True, blank=True)
    compensation_target = models.CharField(max_length=16, blank=True)  # cancelled | failed
    compensation_reason = models.CharField(max_length=255, blank=True)
    compensation_by = models.CharField(max_length=16, blank=True)  # customer | staff | system
    failure_code = models.CharField(max_length=64, blank=True)
    failure_detail = models.CharField(max_length=500, blank=True)
    decline_code = models.CharField(max_length=64, blank=True)
    retry_until = models.DateTimeField(null=True, blank=True)
    # A declined order holds its stock until then (ORDERS_DECLINE_HOLD_MINUTES after the last decline); the
    # sweeper releases it and a retry reserves again.
    stock_held_until = models.DateTimeField(null=True, blank=True)
    hold_reason = models.CharField(max_length=255, blank=True)
    # A hold or cancel under way (docs/orders.md §Holds, cancels and parcels): what was asked ({action: hold |
    # cancel, actor, reason, by_id, expected_delay_days}), written before its parcels are stopped and cleared
    # when the order is held or its compensation begins. Left set, its process died: the sweeper finishes it.
    parcels_stop = models.JSONField(null=True, blank=True)
    parcels_stop_started_at = models.DateTimeField(null=True, blank=True)
    # When the first label was bought (``fulfilling``): from then on the customer can no longer amend, and a
    # hold released goes back to ``fulfilling``, not ``confirmed``.
    labelled_at = models.DateTimeField(null=True, blank=True)
    # Parcels the carrier failed to deliver and that are still on their way: shipment number -> what happened.
    # Puts the order on the staff's attention list until the parcel is delivered or back with us.
    delivery_problems = models.JSONField(default=dict, blank=True)
    # The cardholder's bank disputes a payment of this order (a chargeback is open): staff's attention list,
    # the admin and the API show it. What lost disputes took for good, and the gateway's fees for them:
    disputed = models.BooleanField(default=False, db_index=True)
    chargeback_lost_minor = models.BigIntegerField(default=0)
    chargeback_fee_minor = models.BigIntegerField(default=0)

    placed_at = models.DateTimeField(default=timezone.now, db_index=True)  # the reports select by it
    confirmed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Staff roles (docs/staff.md §Roles): one permission per staff action.
        permissions = [
            ("hold_order", "Put orders on hold and release them"),
            ("cancel_order", "Cancel orders before dispatch (compensate)"),
            ("cancel_dispatched_order", "Cancel orders after dispatch, before delivery"),
            ("repair_order", "Resume stuck sagas and retry settlement"),
            ("resolve_refund_issue", "Clear a rejected or failed refund's flag"),
            ("clear_order_flag", "Clear an order's expired-authorization or parcel flag"),
        ]
        indexes = [
            models.Index(fields=["saga_status", "saga_lease_until"], name="orders_order_saga_lease"),
            # The sweeper's look for holds and cancels left half-way: a handful of rows at most.
            models.Index(
                fields=["parcels_stop_started_at"],
                condition=models.Q(parcels_stop_started_at__isnull=False),
                name="orders_order_parcels_stop",
            ),
            models.Index(
                fields=["placed_at"], condition=SAGA_UNDER_WAY | FLAGGED_FOR_ATTENTION, name="orders_order_attention"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    total_minor=models.F("subtotal_minor") - models.F("discount_minor") + models.F("shipping_minor")
                ),
                name="orders_order_total_adds_up",
            ),
            models.CheckConstraint(
                condition=models.Q(total_minor__gte=0, refunded_minor__lte=models.F("captured_minor")),
                name="orders_order_money_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def payment_reference(self) -> str:
        return f"order:{self.number}"

    @property
    def stock_reference(self) -> str:
        # inventory keys an order's reservation by the order number (its OrderCancelled handler does too)
        return self.number

    @property
    def refund_pending_minor(self) -> int:
        """Refunds asked for but waiting for Finance: not refunded yet (uses a prefetched ``refunds``)."""
        return sum(r.amount_minor for r in self.refunds.all() if r.status in OrderRefund.WAITING)

    @property
    def refund_under_review_minor(self) -> int:
        """Refunds Finance rejected: staff look at them (the customer is told the refund is under review)."""
        return sum(
            r.amount_minor
            for r in self.refunds.all()
            if r.status in (OrderRefund.Status.REJECTED, OrderRefund.Status.FAILED)
        )

    @property
    def is_terminal(self) -> bool:
        return self.status in (OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.FAILED)

    # -- invariants the UI asks about -----------------------------------------
    def can_customer_cancel(self) -> bool:
        return self.status in CANCELLABLE_BY_CUSTOMER and self.saga_status != SagaStatus.COMPENSATING

    def can_staff_cancel(self) -> bool:
        return self.status in CANCELLABLE_BY_STAFF and self.saga_status != SagaStatus.COMPENSATING

    def can_amend(self) -> bool:
        return self.status in AMENDABLE and self.saga_status == SagaStatus.COMPLETED and self.labelled_at is None

    def can_retry_payment(self) -> bool:
        return (
            self.status == OrderStatus.PAYMENT_FAILED
            and self.retry_until is not None
            and self.retry_until > timezone.now()
        )

    def can_return(self) -> bool:
        return self.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED)

    # -- FSM transitions (docs/architecture.md §Lifecycles); orders.services records each one ---
    @transition(field=status, source=OrderStatus.PENDING, target=OrderStatus.CONFIRMED)
    def confirm(self) -> None:
        self.confirmed_at = timezone.now()

    @transition(field=status, source=OrderStatus.PENDING, target=OrderStatus.PAYMENT_FAILED)
    def fail_payment(self) -> None:
        pass

    @transition(field=status, source=OrderStatus.PAYMENT_FAILED, target=OrderStatus.PENDING)
    def retry_payment(self) -> None:
        pass

    @transition(field=status, source=OrderStatus.PENDING, target=OrderStatus.FAILED)
    def fail(self) -> None:
        pass

    @transition(field=status, source=[OrderStatus.CONFIRMED, OrderStatus.FULFILLING], target=OrderStatus.ON_HOLD)
    def hold(self) -> None:
        pass

    @transition(field=status, source=OrderStatus.ON_HOLD, target=OrderStatus.CONFIRMED)
    def release_hold(self) -> None:
        self.hold_reason = ""

    @transition(field=status, source=OrderStatus.ON_HOLD, target=OrderStatus.FULFILLING)
    def resume_fulfilment(self) -> None:
        """A hold released after labelling: back to fulfilling (shipping buys a new label)."""
        self.hold_reason = ""

    @transition(field=status, source=OrderStatus.CONFIRMED, target=OrderStatus.FULFILLING)
    def start_fulfilment(self) -> None:
        self.labelled_at = self.labelled_at or timezone.now()

    # From on_hold too: a parcel the carrier took before its label could be voided; the order follows it.
    @transition(
        field=status,
        source=[OrderStatus.CONFIRMED, OrderStatus.FULFILLING, OrderStatus.ON_HOLD],
        target=OrderStatus.SHIPPED,
    )
    def ship(self) -> None:
        self.shipped_at = timezone.now()

    @transition(field=status, source=OrderStatus.SHIPPED, target=OrderStatus.DELIVERED)
    def deliver(self) -> None:
        self.delivered_at = timezone.now()

    @transition(field=status, source=OrderStatus.DELIVERED, target=OrderStatus.COMPLETED)
    def complete(self) -> None:
        self.completed_at = timezone.now()

    @transition(field=status, source=CANCELLABLE_BY_STAFF, target=OrderStatus.CANCELLED)
    def cancel(self) -> None:
        self.cancelled_at = timezone.now()


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    variant_name = models.CharField(max_length=150, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price_minor = models.BigIntegerField()
    discount_minor = models.BigIntegerField(default=0)
    line_total_minor = models.BigIntegerField()
    weight_grams = models.PositiveIntegerField(default=0)
    allocations = models.JSONField(default=list, blank=True)  # [{"warehouse_code", "quantity"}]

    class Meta:
        # A document's lines are read in the order they were written, everywhere (pages, API, event payloads).
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"

    def as_payload(self) -> dict:
        return {
            "sku": self.sku,
            "name": self.name,
            "quantity": self.quantity,
            "unit_price_minor": self.unit_price_minor,
            "line_total_minor": self.line_total_minor,
            "weight_grams": self.weight_grams,
            "allocations": self.allocations,
        }


class OrderPayment(models.Model):
    """One gateway payment behind an order (the checkout's, plus any extra authorization from an amendment)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    payment_id = models.UUIDField(unique=True)
    amount_minor = models.BigIntegerField()
    captured_minor = models.BigIntegerField(default=0)
    refunded_minor = models.BigIntegerField(default=0)
    voided = models.BooleanField(default=False)
    purpose = models.CharField(max_length=32, default="checkout")  # checkout | amendment
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.order.number}: {self.payment_id}"


class OrderRefund(models.Model):
    """A refund orders asked payments for, and where it stands.

    Only a ``succeeded`` refund counts in the order's (and its payment's) ``refunded_minor``. A refund
    above ``REFUND_APPROVAL_THRESHOLD_MINOR`` waits for Finance (``pending_approval``): it is booked when
    payments publishes ``PaymentRefunded``, or flagged for staff when Finance rejects it (``RefundRejected``).
    """

    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", "Awaiting approval"
        PROCESSING = "processing", "Processing"
        SUCCEEDED = "succeeded", "Refunded"
        REJECTED = "rejected", "Rejected by Finance"
        FAILED = "failed", "Failed"

    class Purpose(models.TextChoices):
        CANCELLATION = "cancellation", "Cancellation"
        RETURN = "return", "Return"
        # Made in the payment provider's dashboard, not through FlowMart: learnt from its webhook.
        GATEWAY = "gateway", "Refunded at the payment provider"

    # Asked for, money not moved yet: reserved at payments, not counted as refunded here.
    WAITING = (Status.PENDING_APPROVAL, Status.PROCESSING)

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    payment = models.ForeignKey(OrderPayment, on_delete=models.CASCADE, related_name="refunds")
    refund_id = models.UUIDField(unique=True, help_text="payments' refund id")
    amount_minor = models.BigIntegerField()
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    rma_number = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, db_index=True)
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="orders_orderrefund_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: refund {self.amount_minor} [{self.status}]"


class OrderDispute(models.Model):
    """A chargeback on one of the order's payments, as payments reported it (``ChargebackOpened`` /
    ``ChargebackResolved``): one row per dispute, so a redelivered event changes nothing."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="disputes")
    dispute_id = models.UUIDField(unique=True, help_text="payments' dispute id")
    payment_id = models.UUIDField()
    amount_minor = models.BigIntegerField()
    fee_minor = models.BigIntegerField(default=0)
    loss_minor = models.BigIntegerField(default=0)
    reason = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.order_id}: dispute {self.amount_minor} [{self.status}]"


class OrderTransition(TransitionLog):
    """Every change of an order's status: who, when, from, to, why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="transitions")


class OrderNote(NoteLog):
    """Something that happened to an order without changing its status: shown in its history by time."""

    class Kind(models.TextChoices):
        AMEND = "amend", "Amended"
        REFUND_ISSUE_RESOLVED = "refund_issue_resolved", "Refund issue resolved"
        AUTHORIZATION_ISSUE_RESOLVED = "authorization_issue_resolved", "Expired authorization dealt with"
        PARCEL_ISSUE_RESOLVED = "parcel_issue_resolved", "Parcel or payment issue resolved"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=40, choices=Kind.choices)


class SagaStep(models.Model):
    """One attempt of one saga step (or compensation) of one order."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        # The process running it died (its saga's lease ran out); the sweeper closed it when it took over.
        ABANDONED = "abandoned", "Abandoned"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="saga_steps")
    step = models.CharField(max_length=32)
    attempt = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.step} #{self.attempt}: {self.status}"

    @property
    def duration_ms(self) -> int | None:
        if self.finished_at is None:
            return None
        return int((self.finished_at - self.started_at).total_seconds() * 1000)


class OrderNeedingAttention(Order):
    """Admin list of orders whose saga is stuck, that are on hold or whose refund needs a look (proxy; no table)."""

    class Meta:
        proxy = True
        verbose_name = "order needing attention"
        verbose_name_plural = "orders needing attention (stuck, on hold, refund rejected, disputed)"
