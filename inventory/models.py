"""Tables of the inventory app: used by this app only (other apps go through services/selectors).

Catalog: ``Category`` (a tree) → ``Product`` → ``Variant`` (the SKU, priced in minor units).
Stock: ``Warehouse`` × ``Variant`` → ``Stock`` (on hand, reserved, low-stock threshold); every
change to ``on_hand`` is a ``StockMovement`` row, so ``on_hand`` always equals the ledger's sum.
Checkout holds stock with a ``Reservation`` (FSM: active → committed | released | expired) whose
``ReservationAllocation`` rows say which warehouse holds how much; ``Stock.reserved`` always equals
the sum of the active reservations' allocations.
"""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import F, Q
from django_fsm import FSMField, transition

from flowmart.notes import NoteLog
from flowmart.staff.change_log import track_changes
from flowmart.transitions import TransitionLog
from inventory.sale_windows import SaleWindow

SEARCH_CONFIG = "english"


@track_changes(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Category(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, related_name="children", on_delete=models.PROTECT)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    def ancestors(self) -> list[Category]:
        chain, node, seen = [], self.parent, {self.pk}
        while node is not None and node.pk not in seen:
            chain.append(node)
            seen.add(node.pk)
            node = node.parent
        return list(reversed(chain))


@track_changes(
    pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), exclude=["search_vector", "updated_at"]
)
class Product(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, related_name="products", on_delete=models.PROTECT)
    attributes = models.JSONField(default=dict, blank=True, help_text='e.g. {"material": "cotton"}')
    is_active = models.BooleanField(default=True)
    # Members' early access (inventory/sale_windows.py): members may buy from early_access_at, everyone
    # from on_sale_at. Both empty: on sale now.
    early_access_at = models.DateTimeField(
        "members' early access from", null=True, blank=True, help_text="Members with early access may buy from then"
    )
    on_sale_at = models.DateTimeField(
        "on sale to everyone from", null=True, blank=True, help_text="Everyone may buy from then (empty: now)"
    )
    # Set when members were told the early access opened (once; the beat task looks for it being empty).
    early_access_announced_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Weighted full-text document (name A, description B), kept by PostgreSQL itself.
    search_vector = models.GeneratedField(
        expression=SearchVector("name", weight="A", config=SEARCH_CONFIG)
        + SearchVector("description", weight="B", config=SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        indexes = [
            GinIndex(fields=["search_vector"], name="inv_product_search_gin"),
            GinIndex(fields=["name"], name="inv_product_name_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["category", "is_active"], name="inv_product_cat_active"),
        ]
        constraints = [
            # Early access only makes sense before a public launch: members first, then everyone.
            models.CheckConstraint(
                condition=Q(early_access_at__isnull=True)
                | Q(on_sale_at__isnull=False, early_access_at__lt=F("on_sale_at")),
                name="inv_product_early_access_before_public_sale",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def sale_window(self) -> SaleWindow:
        return SaleWindow(early_access_at=self.early_access_at, on_sale_at=self.on_sale_at)


class ProductImage(models.Model):
    product = models.ForeignKey(Product, related_name="images", on_delete=models.CASCADE)
    # An absolute URL (CDN) or a path on this site (the demo's generated pictures).
    url = models.CharField(max_length=500)
    alt = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.url


@track_changes(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Variant(models.Model):
    product = models.ForeignKey(Product, related_name="variants", on_delete=models.CASCADE)
    sku = models.CharField("SKU", max_length=64, unique=True)
    name = models.CharField(max_length=120, blank=True, help_text='Option label, e.g. "M / Blue"')
    options = models.JSONField(default=dict, blank=True, help_text='e.g. {"size": "M", "colour": "Blue"}')
    price_minor = models.PositiveIntegerField(help_text="Price in minor units (cents)")
    currency = models.CharField(max_length=3, default="USD")
    weight_grams = models.PositiveIntegerField(default=0)
    barcode = models.CharField(max_length=64, blank=True)
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["product", "price_minor"], name="inv_variant_product_price")]

    def __str__(self) -> str:
        return f"{self.sku} ({self.name})" if self.name else self.sku


@track_changes(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Warehouse(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=120)
    address = models.TextField(blank=True)
    priority = models.PositiveIntegerField(default=100, help_text="Lower ships first")
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


# Only the threshold: on hand and reserved change through the ledger (StockMovement), their own history.
@track_changes(pghistory.UpdateEvent(), fields=["low_stock_threshold"], model_name="StockThresholdEvent")
class Stock(models.Model):
    variant = models.ForeignKey(Variant, related_name="stocks", on_delete=models.PROTECT)
    warehouse = models.ForeignKey(Warehouse, related_name="stocks", on_delete=models.PROTECT)
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    low_stock_threshold = models.PositiveIntegerField(default=5)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Staff roles (docs/staff.md §Roles): one permission per staff action.
        permissions = [
            ("adjust_stock", "Adjust and transfer stock"),
        ]
        verbose_name_plural = "stock"
        constraints = [
            models.UniqueConstraint(fields=["variant", "warehouse"], name="inv_stock_one_row_per_place"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="inv_stock_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="inv_stock_reserved_not_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="inv_stock_reserved_within_on_hand"),
        ]

    def __str__(self) -> str:
        return f"{self.variant.sku} @ {self.warehouse.code}"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def is_low(self) -> bool:
        return self.available <= self.low_stock_threshold


class LowStockItem(Stock):
    """Proxy for the staff's low-stock list."""

    class Meta:
        proxy = True
        verbose_name = "low-stock item"


class StockMovement(models.Model):
    class Reason(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        SALE = "sale", "Sale"
        ADJUSTMENT = "adjustment", "Adjustment"
        RETURN = "return", "Return"
        RETURN_DAMAGED = "return_damaged", "Returned damaged (written off)"
        CORRECTION = "correction", "Correction"
        TRANSFER = "transfer", "Transfer"

    stock = models.ForeignKey(Stock, related_name="movements", on_delete=models.PROTECT)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    quantity = models.IntegerField(help_text="Signed change of on-hand stock")
    on_hand_after = models.IntegerField()
    reference = models.CharField(max_length=100, blank=True, db_index=True)
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.quantity:+d} {self.reason} ({self.reference})"


class Reservation(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        COMMITTED = "committed", "Committed (sold)"
        RELEASED = "released", "Released"
        EXPIRED = "expired", "Expired"

    reference = models.CharField(max_length=100, db_index=True)
    state = FSMField(default=State.ACTIVE, choices=State.choices, protected=True)
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Staff roles (docs/staff.md §Roles): one permission per staff action.
        permissions = [
            ("release_reservation", "Release stock reservations"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["reference"],
                condition=Q(state__in=["active", "committed"]),
                name="inv_reservation_one_live_per_reference",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.state})"

    # Transitions: the service records each one (ReservationTransition) in the same transaction.
    @transition(field=state, source=State.ACTIVE, target=State.COMMITTED)
    def commit(self) -> None:
        pass

    @transition(field=state, source=State.ACTIVE, target=State.RELEASED)
    def release(self) -> None:
        pass

    @transition(field=state, source=State.ACTIVE, target=State.EXPIRED)
    def expire(self) -> None:
        pass


class ReservationAllocation(models.Model):
    reservation = models.ForeignKey(Reservation, related_name="allocations", on_delete=models.CASCADE)
    stock = models.ForeignKey(Stock, related_name="allocations", on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.quantity} × {self.stock}"


class ReservationTransition(TransitionLog):
    """The reservation's state log."""

    reservation = models.ForeignKey(Reservation, related_name="transitions", on_delete=models.CASCADE)


class ReservationNote(NoteLog):
    """Something that happened to a reservation without changing its state (its lines amended)."""

    class Kind(models.TextChoices):
        AMEND = "amend", "Amended"

    reservation = models.ForeignKey(Reservation, related_name="notes", on_delete=models.CASCADE)
    kind = models.CharField(max_length=40, choices=Kind.choices)
