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
from flowmart.staff.actions import request_client_ip, staff_action_perform
from flowmart.staff.admin_actions import StaffActionsAdmin
from payments import exports, reconciliation, webhooks
from payments.forms import DisputeEvidenceForm
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
from payments.staff_actions import DISPUTE_EVIDENCE


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
    fields = [
        "opened_at",
        "gateway_ref",
        "amount_minor",
        "fee_minor",
        "reason",
        "status",
        "evidence_status",
        "loss_minor",
        "resolved_at",
    ]
    readonly_fields = fields


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(Payment)
class PaymentAdmin(StaffActionsAdmin, CsvExportAdmin, ReadOnlyAdmin):
    csv_export = staticmethod(lambda queryset: exports.payments_export(payments=queryset))
    csv_filename = "payments"
    ordering = ["-created_at"]
    list_display = ["reference", "status", "amount", "captured", "refunded", "card", "gateway", "created_at"]
    list_filter = ["status", "gateway", "currency", "created_at"]
    search_fields = ["reference", "gateway_ref", "=id", "customer_email"]
    date_hierarchy = "created_at"
    inlines = [TransitionInline, NoteInline, RefundInline, DisputeInline]

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


@admin.register(Refund)
class RefundAdmin(StaffActionsAdmin, CsvExportAdmin, ReadOnlyAdmin):
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
class RefundApprovalQueueAdmin(StaffActionsAdmin, ReadOnlyAdmin):
    """Refunds above the threshold, waiting for a member of the Finance group."""

    ordering = ["-created_at"]

    list_display = ["payment", "amount_minor", "currency", "reason", "requested_by", "created_at"]
    list_select_related = ["payment", "requested_by"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(status=Refund.Status.PENDING_APPROVAL)


@admin.register(Dispute)
class DisputeAdmin(StaffActionsAdmin, ReadOnlyAdmin):
    ordering = ["-opened_at"]
    list_display = [
        "gateway_ref",
        "payment",
        "amount_minor",
        "currency",
        "reason",
        "status",
        "evidence_status",
        "fee_minor",
        "loss_minor",
        "opened_at",
        "resolved_at",
    ]
    list_filter = ["status", "evidence_status", "reason"]
    search_fields = ["gateway_ref", "payment__reference"]
    list_select_related = ["payment"]
    actions = ["simulate_won", "simulate_lost"]
    change_form_template = "payments/admin/dispute_change_form.html"

    def has_change_permission(self, request, obj=None):
        # The change page is the detail page (read-only fields); the evidence form posts to its own URL.
        return request.user.has_perm("payments.view_dispute") or request.user.has_perm("payments.change_dispute")

    def get_urls(self):
        extra = [
            path(
                "<uuid:pk>/evidence/",
                self.admin_site.admin_view(self.evidence_view),
                name="payments_dispute_evidence",
            )
        ]
        return extra + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        dispute = self.get_object(request, object_id)
        takes_evidence = dispute is not None and (
            dispute.status == Dispute.Status.OPEN
            and dispute.evidence_status in (Dispute.EvidenceStatus.NONE, Dispute.EvidenceStatus.FAILED)
        )
        extra_context["evidence_form"] = DisputeEvidenceForm() if takes_evidence else None
        return super().change_view(request, object_id, form_url, extra_context)

    def evidence_view(self, request, pk):
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        dispute = get_object_or_404(Dispute, pk=pk)
        back = reverse("admin:payments_dispute_change", args=[dispute.pk])
        try:
            staff_action_perform(
                action=DISPUTE_EVIDENCE,
                obj=dispute,
                by=request.user,
                source="admin",
                ip=request_client_ip(request),
                data=request.POST,
            )
            messages.success(request, "Evidence submitted: the bank decides next.")
        except FlowMartError as exc:
            messages.error(request, exc.detail)
        return HttpResponseRedirect(back)

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
    list_display = [
        "period_start",
        "gateway",
        "gateway_charges",
        "flowmart_payments",
        "gateway_movements",
        "flowmart_movements",
        "mismatch_count",
        "created_at",
    ]
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
