"""Staff screens: tiers, plans, subscriptions (their staff actions as buttons: subscriptions/staff_actions.py),
invoices, the dunning list."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from flowmart.admin_csv_export import CsvExportAdmin
from flowmart.admin_inlines import NoteLogInline, ReadOnlyInline, TransitionLogInline
from flowmart.staff.admin_actions import StaffActionsAdmin
from subscriptions import exports
from subscriptions.models import (
    DunningInvoice,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    InvoiceTransition,
    Plan,
    Subscription,
    SubscriptionNote,
    SubscriptionTransition,
    Tier,
)


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    ordering = ["rank", "name"]
    list_display = ["name", "rank", "free_shipping", "percent_off", "early_access"]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    ordering = ["sort_order", "price_minor", "code"]
    list_display = ["code", "name", "tier", "interval", "price_minor", "currency", "trial_days", "is_active"]
    list_filter = ["is_active", "interval", "tier"]
    search_fields = ["code", "name"]
    prepopulated_fields = {"code": ["name"]}


class SubscriptionTransitionInline(TransitionLogInline):
    model = SubscriptionTransition


class SubscriptionNoteInline(NoteLogInline):
    model = SubscriptionNote
    verbose_name_plural = "notes (plan and card changes, cancellations scheduled or withdrawn)"


class InvoiceInline(ReadOnlyInline):
    model = Invoice
    ordering = ["-issued_at", "-id"]
    fields = ["number", "status", "billing_reason", "period_start", "period_end", "amount_minor", "payment_attempts"]
    readonly_fields = fields
    show_change_link = True


@admin.register(Subscription)
class SubscriptionAdmin(StaffActionsAdmin, admin.ModelAdmin):
    ordering = ["-created_at"]
    list_display = ["public_id", "user", "plan", "status", "current_period_end", "cancel_at_period_end", "created_at"]
    list_filter = ["status", "plan", "cancel_at_period_end"]
    search_fields = ["=public_id", "user__email"]
    list_select_related = ["user", "plan"]
    readonly_fields = [
        "public_id",
        "user",
        "plan",
        "status",
        "current_period_start",
        "current_period_end",
        "trial_end",
        "cancel_at_period_end",
        "paused_at",
        "cancelled_at",
        "ended_at",
        "cancellation_reason",
        "payment_method",
        "payment_method_label",
        "credit_minor",
        "created_at",
        "updated_at",
    ]
    exclude: list[str] = []
    inlines = [SubscriptionTransitionInline, SubscriptionNoteInline, InvoiceInline]

    def has_add_permission(self, request):
        return False  # customers subscribe through the storefront or the API (payment needed)

    def has_delete_permission(self, request, obj=None):
        return False


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = ["description", "amount_minor", "period_start", "period_end"]
    readonly_fields = fields


class InvoiceTransitionInline(TransitionLogInline):
    model = InvoiceTransition


@admin.register(Invoice)
class InvoiceAdmin(CsvExportAdmin, admin.ModelAdmin):
    csv_export = staticmethod(lambda queryset: exports.invoices_export(invoices=queryset))
    csv_filename = "invoices"
    ordering = ["-issued_at", "-id"]
    list_display = ["number", "customer_email", "status", "billing_reason", "amount_minor", "currency", "issued_at"]
    list_filter = ["status", "billing_reason"]
    search_fields = ["number", "customer_email"]
    date_hierarchy = "issued_at"
    inlines = [InvoiceLineInline, InvoiceTransitionInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DunningInvoice)
class DunningAdmin(InvoiceAdmin):
    """Open invoices whose charge was declined: when dunning tries next, and how often it has failed."""

    list_display = [
        "number",
        "customer_email",
        "amount_minor",
        "currency",
        "payment_attempts",
        "last_decline_code",
        "first_failed_at",
        "next_payment_attempt_at",
        "subscription_link",
    ]
    list_filter = ["last_decline_code"]
    date_hierarchy = None

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(status=InvoiceStatus.OPEN, payment_attempts__gt=0)
            .select_related("subscription")
        )

    @admin.display(description="subscription")
    def subscription_link(self, obj):
        url = reverse("admin:subscriptions_subscription_change", args=[obj.subscription_id])
        return format_html('<a href="{}">{}</a>', url, obj.subscription.get_status_display())
