"""Staff screens: payments with their history and action buttons, the refund approval queue,
disputes, webhooks, stray authorizations and the reconciliation report. Every button calls a service."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone

from flowmart.admin_csv_export import CsvExportAdmin
from flowmart.admin_inlines import NoteLogInline, ReadOnlyInline, TransitionLogInline
from flowmart.errors import FlowMartError
from flowmart.money import Money
from payments import exports, reconciliation, services, webhooks
from payments.forms import CaptureForm, RefundForm, VoidForm
from payments.models import (
    Dispute,
    Payment,
    PaymentNote,
    PaymentTransition,
    PendingRefund,
    ReconciliationMismatch,
    ReconciliationReport,
    Refund,
    SavedPaymentMethod,
    StrayAuthorization,
    WebhookEvent,
)

STAFF_ACTIONS = ("capture", "void", "refund")


class TransitionInline(TransitionLogInline):
    model = PaymentTransition
    verbose_name_plural = "history: transitions (who, when, from, to, why, how much)"
    fields = [*TransitionLogInline.fields, "amount_minor"]
    readonly_fields = fields


class NoteInline(NoteLogInline):
    model = PaymentNote
    verbose_name_plural = "history: notes (refund steps, chargebacks that left the state as it was)"
    fields = [*NoteLogInline.fields, "amount_minor"]
    readonly_fields = fields


class RefundInline(ReadOnlyInline):
    model = Refund
    ordering = ["-created_at"]
    fields = ["created_at", "amount_minor", "status", "reason", "requested_by", "decided_by", "failure_message"]
    readonly_fields = fields


class DisputeInline(ReadOnlyInline):
    model = Dispute
    ordering = ["-opened_at"]
    fields = ["opened_at", "gateway_ref", "amount_minor", "reason", "status", "resolved_at"]
    readonly_fields = fields


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(Payment)
class PaymentAdmin(CsvExportAdmin, ReadOnlyAdmin):
    csv_export = staticmethod(lambda queryset: exports.payments_export(payments=queryset))
    csv_filename = "payments"
    ordering = ["-created_at"]
    list_display = ["reference", "status", "amount", "captured", "refunded", "card", "gateway", "created_at"]
    list_filter = ["status", "gateway", "currency", "created_at"]
    search_fields = ["reference", "gateway_ref", "=id", "customer_email"]
    date_hierarchy = "created_at"
    inlines = [TransitionInline, NoteInline, RefundInline, DisputeInline]
    change_form_template = "payments/admin/payment_change_form.html"

    @admin.display(description="amount", ordering="amount_minor")
    def amount(self, obj):
        return str(Money(obj.amount_minor, obj.currency))

    @admin.display(description="captured", ordering="captured_minor")
    def captured(self, obj):
        return str(Money(obj.captured_minor, obj.currency))

    @admin.display(description="refunded", ordering="refunded_minor")
    def refunded(self, obj):
        return str(Money(obj.refunded_minor, obj.currency))

    @admin.display(description="card")
    def card(self, obj):
        return f"{obj.brand} •••• {obj.last4}" if obj.last4 else "-"

    def has_change_permission(self, request, obj=None):
        # The change page is the detail page: fields are read-only, state changes go through the buttons.
        return request.user.has_perm("payments.view_payment") or request.user.has_perm("payments.change_payment")

    def get_urls(self):
        extra = [
            path(
                "<uuid:pk>/act/<str:action>/", self.admin_site.admin_view(self.action_view), name="payments_payment_act"
            )
        ]
        return extra + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        payment = self.get_object(request, object_id)
        if payment is not None:
            allowed = [t.name for t in payment.get_available_status_transitions() if t.name in STAFF_ACTIONS]
            extra_context.update(
                allowed_actions=allowed if request.user.has_perm("payments.change_payment") else [],
                capture_form=CaptureForm(initial={"amount_minor": payment.amount_minor}),
                void_form=VoidForm(),
                refund_form=RefundForm(initial={"amount_minor": payment.refundable_minor}),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def action_view(self, request, pk, action):
        if request.method != "POST" or action not in STAFF_ACTIONS:
            raise PermissionDenied
        if not request.user.has_perm("payments.change_payment"):
            raise PermissionDenied
        payment = get_object_or_404(Payment, pk=pk)
        form_class = {"capture": CaptureForm, "void": VoidForm, "refund": RefundForm}[action]
        form = form_class(request.POST)
        back = reverse("admin:payments_payment_change", args=[payment.pk])
        if not form.is_valid():
            messages.error(request, f"{action.title()}: {form.errors.as_text()}")
            return HttpResponseRedirect(back)
        data = form.cleaned_data
        try:
            if action == "capture":
                services.payment_capture(payment_id=payment.pk, amount_minor=data["amount_minor"], by=request.user)
                messages.success(request, "Payment captured.")
            elif action == "void":
                services.payment_void(payment_id=payment.pk, reason=data["reason"], by=request.user)
                messages.success(request, "Authorization voided.")
            else:
                refund = services.payment_refund(
                    payment_id=payment.pk,
                    amount_minor=data["amount_minor"],
                    reason=data["reason"],
                    requested_by=request.user,
                    idempotency_key=data["idempotency_key"],
                )
                if refund.status == Refund.Status.PENDING_APPROVAL:
                    messages.warning(request, "The refund is above the approval threshold: it waits for Finance.")
                else:
                    messages.success(request, f"Refund {refund.status}.")
        except FlowMartError as exc:
            messages.error(request, exc.detail)
        return HttpResponseRedirect(back)


@admin.register(Refund)
class RefundAdmin(CsvExportAdmin, ReadOnlyAdmin):
    csv_export = staticmethod(lambda queryset: exports.refunds_export(refunds=queryset))
    csv_filename = "refunds"
    ordering = ["-created_at"]
    list_display = [
        "payment",
        "amount_minor",
        "currency",
        "status",
        "reason",
        "requested_by",
        "decided_by",
        "created_at",
    ]
    list_filter = ["status", "created_at"]
    search_fields = ["payment__reference", "=id"]
    list_select_related = ["payment", "requested_by", "decided_by"]


@admin.register(PendingRefund)
class RefundApprovalQueueAdmin(ReadOnlyAdmin):
    """Refunds above the threshold, waiting for a member of the Finance group."""

    ordering = ["-created_at"]

    list_display = ["payment", "amount_minor", "currency", "reason", "requested_by", "created_at"]
    list_select_related = ["payment", "requested_by"]
    actions = ["approve", "reject"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(status=Refund.Status.PENDING_APPROVAL)

    def _decide(self, request, queryset, decide, verb):
        done = 0
        for refund in queryset:
            try:
                decide(refund_id=refund.pk, by=request.user)
                done += 1
            except FlowMartError as exc:
                messages.error(request, f"{refund}: {exc.detail}")
        if done:
            messages.success(request, f"{done} refund(s) {verb}.")

    @admin.action(description="Approve selected refunds (Finance)")
    def approve(self, request, queryset):
        self._decide(request, queryset, services.refund_approve, "approved")

    @admin.action(description="Reject selected refunds (Finance)")
    def reject(self, request, queryset):
        self._decide(request, queryset, services.refund_reject, "rejected")


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    ordering = ["-opened_at"]
    list_display = [
        "gateway_ref",
        "payment",
        "amount_minor",
        "currency",
        "reason",
        "status",
        "opened_at",
        "resolved_at",
    ]
    list_filter = ["status", "reason"]
    search_fields = ["gateway_ref", "payment__reference"]
    list_select_related = ["payment"]
    actions = ["simulate_won", "simulate_lost"]

    def _simulate(self, request, queryset, *, won: bool):
        for dispute in queryset.filter(status=Dispute.Status.OPEN, payment__gateway="sandbox"):
            webhooks.sandbox_dispute_resolve(
                dispute_ref=dispute.gateway_ref, charge_id=dispute.payment.gateway_ref, won=won
            )
        messages.success(request, "The sandbox bank sent its verdict.")

    @admin.action(description="Sandbox: the bank decides in our favour (won)")
    def simulate_won(self, request, queryset):
        self._simulate(request, queryset, won=True)

    @admin.action(description="Sandbox: the bank decides for the cardholder (lost)")
    def simulate_lost(self, request, queryset):
        self._simulate(request, queryset, won=False)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    ordering = ["-received_at"]
    list_display = ["event_id", "gateway", "type", "status", "deliveries", "received_at", "processed_at"]
    list_filter = ["gateway", "status", "type"]
    search_fields = ["event_id"]


@admin.register(SavedPaymentMethod)
class SavedPaymentMethodAdmin(ReadOnlyAdmin):
    ordering = ["-created_at"]
    list_display = ["user_id", "brand", "last4", "exp_month", "exp_year", "gateway", "created_at"]
    search_fields = ["=user_id"]


@admin.register(StrayAuthorization)
class StrayAuthorizationAdmin(ReadOnlyAdmin):
    """Holds the gateway kept that no authorized payment explained, voided by the sweep: each one is a question
    for an engineer (how did it happen?), and a ``void_failed`` one is money still held on a card."""

    list_display = [
        "gateway_ref",
        "gateway",
        "status",
        "amount",
        "reference",
        "payment_status",
        "held_since",
        "found_at",
    ]
    list_filter = ["status", "gateway"]
    search_fields = ["gateway_ref", "reference"]
    ordering = ["-found_at"]

    @admin.display(description="amount", ordering="amount_minor")
    def amount(self, obj):
        return str(Money(obj.amount_minor, obj.currency))


class MismatchInline(ReadOnlyInline):
    model = ReconciliationMismatch
    ordering = ["kind", "gateway_ref"]
    fields = ["kind", "gateway_ref", "payment", "flowmart_value", "gateway_value"]
    readonly_fields = fields


@admin.register(ReconciliationReport)
class ReconciliationReportAdmin(ReadOnlyAdmin):
    ordering = ["-created_at"]
    list_display = ["period_start", "gateway", "gateway_charges", "flowmart_payments", "mismatch_count", "created_at"]
    list_filter = ["gateway"]
    inlines = [MismatchInline]
    change_list_template = "payments/admin/reconciliation_change_list.html"

    def get_urls(self):
        extra = [path("run/", self.admin_site.admin_view(self.run_view), name="payments_reconciliation_run")]
        return extra + super().get_urls()

    def run_view(self, request):
        if request.method != "POST" or not self.has_view_permission(request):
            raise PermissionDenied
        day = timezone.now().date() if request.POST.get("day") == "today" else None
        report = reconciliation.reconciliation_run(day=day)
        level = messages.WARNING if report.mismatch_count else messages.SUCCESS
        messages.add_message(request, level, f"Reconciled {report}.")
        return HttpResponseRedirect(reverse("admin:payments_reconciliationreport_change", args=[report.pk]))
