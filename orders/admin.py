"""Staff screens for orders: filters, the cross-app timeline, saga steps, the staff actions as buttons
(declared in orders/staff_actions.py), and a list of orders that need attention (stuck sagas, on hold, refunds
rejected)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from flowmart.admin_csv_export import CsvExportAdmin
from flowmart.admin_inlines import NoteLogInline, ReadOnlyInline, TransitionLogInline
from flowmart.money import Money
from flowmart.staff.admin_actions import StaffActionsAdmin
from orders import exports, selectors
from orders.models import (
    Basket,
    BasketLine,
    Order,
    OrderDispute,
    OrderLine,
    OrderNeedingAttention,
    OrderNote,
    OrderPayment,
    OrderRefund,
    OrderTransition,
    SagaStep,
)


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["sku", "name", "quantity", "unit_price_minor", "discount_minor", "line_total_minor", "allocations"]
    readonly_fields = fields


class OrderPaymentInline(ReadOnlyInline):
    model = OrderPayment
    ordering = ["created_at", "id"]
    fields = ["payment_id", "purpose", "amount_minor", "captured_minor", "refunded_minor", "voided", "created_at"]
    readonly_fields = fields


class OrderRefundInline(ReadOnlyInline):
    model = OrderRefund
    ordering = ["created_at", "id"]
    verbose_name_plural = "refunds (only succeeded ones count as refunded)"
    fields = ["refund_id", "purpose", "rma_number", "amount_minor", "status", "note", "created_at", "settled_at"]
    readonly_fields = fields


class OrderDisputeInline(ReadOnlyInline):
    model = OrderDispute
    ordering = ["opened_at", "id"]
    verbose_name_plural = "chargebacks (Payments → Disputes takes the evidence)"
    fields = ["dispute_id", "amount_minor", "reason", "status", "loss_minor", "fee_minor", "opened_at", "resolved_at"]
    readonly_fields = fields


class SagaStepInline(ReadOnlyInline):
    model = SagaStep
    ordering = ["started_at", "id"]
    verbose_name_plural = "saga steps"
    fields = ["step", "attempt", "status", "started_at", "finished_at", "duration_ms", "error_code", "error"]
    readonly_fields = fields


class OrderTransitionInline(TransitionLogInline):
    model = OrderTransition


class OrderNoteInline(NoteLogInline):
    model = OrderNote
    verbose_name_plural = "notes (amendments, refund issues resolved)"


@admin.register(Order)
class OrderAdmin(StaffActionsAdmin, CsvExportAdmin, admin.ModelAdmin):
    csv_export = staticmethod(lambda queryset: exports.orders_export(orders=queryset))
    csv_filename = "orders"
    ordering = ["-placed_at", "-id"]
    list_display = ["number", "status", "disputed", "saga_status", "email", "total", "placed_at"]
    list_filter = ["status", "disputed", "saga_status", "placed_at"]
    search_fields = ["number", "email", "lines__sku"]
    date_hierarchy = "placed_at"
    inlines = [
        OrderLineInline,
        OrderPaymentInline,
        OrderRefundInline,
        OrderDisputeInline,
        SagaStepInline,
        OrderTransitionInline,
        OrderNoteInline,
    ]
    readonly_fields = [
        "number",
        "status",
        "saga_status",
        "saga_lease_until",
        "user",
        "email",
        "customer_name",
        "totals",
        "shipping_method",
        "shipping_address",
        "authorized_minor",
        "captured_minor",
        "refunded_minor",
        "refund_status",
        "disputed",
        "money_summary",
        "stock_reserved",
        "stock_committed",
        "stock_released",
        "failure_code",
        "failure_detail",
        "decline_code",
        "retry_until",
        "hold_reason",
        "compensation_reason",
        "placed_at",
        "confirmed_at",
        "cancelled_at",
        "timeline",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="total", ordering="total_minor")
    def total(self, order: Order) -> str:
        return str(Money(order.total_minor, order.currency))

    @admin.display(description="totals")
    def totals(self, order: Order) -> str:
        m = lambda v: str(Money(v, order.currency))  # noqa: E731
        return (
            f"subtotal {m(order.subtotal_minor)} − discount {m(order.discount_minor)} + shipping "
            f"{m(order.shipping_minor)} = {m(order.total_minor)}"
        )

    @admin.display(description="money summary")
    def money_summary(self, order: Order) -> str:
        books = selectors.order_money_summary(order=order)
        m = lambda v: str(Money(v, order.currency))  # noqa: E731
        text = f"captured {m(books['captured_minor'])} − refunded {m(books['refunded_minor'])}"
        if books["chargeback_lost_minor"] or books["chargeback_fee_minor"]:
            text += (
                f" − lost to chargebacks {m(books['chargeback_lost_minor'])}"
                f" − chargeback fees {m(books['chargeback_fee_minor'])}"
            )
        return text + f" = {m(books['net_minor'])}" + (" (chargeback open)" if books["disputed"] else "")

    @admin.display(description="refunds waiting or refused")
    def refund_status(self, order: Order) -> str:
        parts = []
        if order.refund_pending_minor:
            parts.append(f"refund awaiting approval: {Money(order.refund_pending_minor, order.currency)}")
        if order.refund_under_review_minor:
            parts.append(f"rejected or failed, not refunded: {Money(order.refund_under_review_minor, order.currency)}")
        return "; ".join(parts) or "—"

    @admin.display(description="timeline (every app, by correlation id)")
    def timeline(self, order: Order):
        rows = selectors.order_timeline(order=order)
        if not rows:
            return "—"
        return format_html(
            "<ol>{}</ol>",
            format_html_join(
                "",
                "<li><code>{}</code> <strong>{}</strong> <em>({})</em></li>",
                ((e.occurred_at.strftime("%Y-%m-%d %H:%M:%S"), e.name, e.producer) for e in rows),
            ),
        )


@admin.register(OrderNeedingAttention)
class OrderNeedingAttentionAdmin(OrderAdmin):
    """Stuck sagas (lease ran out mid-way), orders on hold, orders with a refund Finance rejected, and orders with
    a parcel the carrier failed to deliver."""

    list_display = [
        "number",
        "status",
        "disputed",
        "saga_status",
        "saga_lease_until",
        "hold_reason",
        "failure_code",
        "failure_detail",
        "delivery_problem",
        "placed_at",
    ]

    def get_queryset(self, request):
        return selectors.orders_needing_attention()

    @admin.display(description="Delivery problem")
    def delivery_problem(self, order) -> str:
        return "; ".join(order.delivery_problems.values())


class BasketLineInline(admin.TabularInline):
    model = BasketLine
    extra = 0


@admin.register(Basket)
class BasketAdmin(admin.ModelAdmin):
    list_display = ["public_id", "user", "version", "updated_at"]
    search_fields = ["user__email"]
    inlines = [BasketLineInline]
