"""Staff screens for orders: filters, the cross-app timeline, saga steps, transitions as buttons,
and a list of orders that need attention (stuck sagas, on hold, refunds rejected). Thin: buttons call services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from flowmart.admin_csv_export import CsvExportAdmin
from flowmart.admin_inlines import NoteLogInline, ReadOnlyInline, TransitionLogInline
from flowmart.errors import FlowMartError
from flowmart.money import Money
from orders import exports, selectors, services
from orders.models import (
    Basket,
    BasketLine,
    Order,
    OrderLine,
    OrderNeedingAttention,
    OrderNote,
    OrderPayment,
    OrderRefund,
    OrderStatus,
    OrderTransition,
    SagaStatus,
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


# (label, service call, shown when)
ACTIONS = {
    "cancel": ("Cancel (compensate)", lambda o: o.can_staff_cancel()),
    "hold": ("Put on hold", lambda o: o.status in (OrderStatus.CONFIRMED, OrderStatus.FULFILLING)),
    "release_hold": ("Release hold", lambda o: o.status == OrderStatus.ON_HOLD),
    "resume_saga": (
        "Resume / compensate stuck saga",
        lambda o: o.saga_status in (SagaStatus.RUNNING, SagaStatus.COMPENSATING),
    ),
    "settle": ("Retry capture + stock commit", lambda o: o.failure_code == "settle_failed"),
    "refund_resolved": (
        "Refund issue dealt with (clear the flag)",
        lambda o: o.failure_code in ("refund_rejected", "refund_failed"),
    ),
}


@admin.register(Order)
class OrderAdmin(CsvExportAdmin, admin.ModelAdmin):
    csv_export = staticmethod(lambda queryset: exports.orders_export(orders=queryset))
    csv_filename = "orders"
    ordering = ["-placed_at", "-id"]
    list_display = ["number", "status", "saga_status", "email", "total", "placed_at"]
    list_filter = ["status", "saga_status", "placed_at"]
    search_fields = ["number", "email", "lines__sku"]
    date_hierarchy = "placed_at"
    inlines = [
        OrderLineInline,
        OrderPaymentInline,
        OrderRefundInline,
        SagaStepInline,
        OrderTransitionInline,
        OrderNoteInline,
    ]
    readonly_fields = [
        "number",
        "status",
        "saga_status",
        "saga_lease_until",
        "actions_panel",
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

    @admin.display(description="refunds waiting or refused")
    def refund_status(self, order: Order) -> str:
        parts = []
        if order.refund_pending_minor:
            parts.append(f"refund awaiting approval: {Money(order.refund_pending_minor, order.currency)}")
        if order.refund_under_review_minor:
            parts.append(f"rejected or failed, not refunded: {Money(order.refund_under_review_minor, order.currency)}")
        return "; ".join(parts) or "—"

    @admin.display(description="actions")
    def actions_panel(self, order: Order):
        # Buttons submit the change form (which carries the CSRF token) to the action URL.
        buttons = [
            format_html(
                '<button type="submit" class="button" formaction="{}" formmethod="post" '
                'style="margin-right:.5em">{}</button>',
                reverse("admin:orders_order_action", args=[order.pk, name]),
                label,
            )
            for name, (label, allowed) in ACTIONS.items()
            if allowed(order)
        ]
        if not buttons:
            return "—"
        return format_html(
            '<input type="text" name="action_reason" placeholder="reason (optional)" size="30"> {}',
            format_html_join("", "{}", ((b,) for b in buttons)),
        )

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

    def get_urls(self):
        custom = [
            path(
                "<int:pk>/action/<str:name>/",
                self.admin_site.admin_view(self.action_view),
                name="orders_order_action",
            )
        ]
        return custom + super().get_urls()

    def action_view(self, request, pk: int, name: str):
        return _run_action(request, self, pk, name)


@require_POST
def _run_action(request, model_admin, pk: int, name: str):
    order = get_object_or_404(Order, pk=pk)
    reason = (request.POST.get("action_reason") or "").strip()
    try:
        if name == "cancel":
            services.order_cancel(order=order, by=request.user, actor="staff", reason=reason or "cancelled by staff")
        elif name == "hold":
            services.order_hold(order=order, by=request.user, reason=reason or "held by staff")
        elif name == "release_hold":
            services.order_release_hold(order=order, by=request.user, reason=reason or "released by staff")
        elif name == "resume_saga":
            services.saga_resume(order=order)
        elif name == "settle":
            services.order_settle_retry(order=order)
        elif name == "refund_resolved":
            services.order_refund_issue_resolve(order=order, by=request.user, reason=reason)
        else:
            messages.error(request, f"Unknown action {name}.")
            return redirect("admin:orders_order_change", pk)
        order.refresh_from_db()
        messages.success(request, f"{order.number}: now {order.get_status_display().lower()}.")
    except FlowMartError as exc:
        messages.error(request, exc.detail)
    return redirect("admin:orders_order_change", pk)


@admin.register(OrderNeedingAttention)
class OrderNeedingAttentionAdmin(OrderAdmin):
    """Stuck sagas (lease ran out mid-way), orders on hold, orders with a refund Finance rejected, and orders with
    a parcel the carrier failed to deliver."""

    list_display = [
        "number",
        "status",
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
