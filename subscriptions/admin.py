"""Staff screens: tiers, plans, subscriptions (with their transitions as buttons), invoices, the dunning list."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from flowmart.admin_csv_export import CsvExportAdmin
from flowmart.admin_inlines import NoteLogInline, ReadOnlyInline, TransitionLogInline
from flowmart.errors import FlowMartError
from subscriptions import exports, services
from subscriptions.models import (
    DunningInvoice,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    InvoiceTransition,
    Plan,
    Subscription,
    SubscriptionNote,
    SubscriptionStatus,
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


# (label, service call, css class) — shown only when the subscription's state allows it.
SUBSCRIPTION_ACTIONS = {
    "pause": ("Pause", lambda sub, by: services.subscription_pause(subscription=sub, by=by, reason="staff")),
    "resume": ("Resume", lambda sub, by: services.subscription_resume(subscription=sub, by=by)),
    "cancel-at-period-end": (
        "Cancel at period end",
        lambda sub, by: services.subscription_cancel(subscription=sub, at_period_end=True, by=by, reason="staff"),
    ),
    "cancel": ("Cancel now", lambda sub, by: services.subscription_cancel(subscription=sub, by=by, reason="staff")),
    "expire": (
        "Expire",
        lambda sub, by: services.subscription_expire(subscription=sub, by=by, detail="expired by staff"),
    ),
}


def allowed_actions(sub: Subscription) -> list[str]:
    live = sub.status in (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE)
    allowed = {
        "pause": sub.status == SubscriptionStatus.ACTIVE and not sub.cancel_at_period_end,
        "resume": sub.status == SubscriptionStatus.PAUSED,
        "cancel-at-period-end": live and not sub.cancel_at_period_end,
        "cancel": sub.status
        in (
            SubscriptionStatus.TRIALING,
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.PAST_DUE,
            SubscriptionStatus.PAUSED,
        ),
        "expire": sub.status in (SubscriptionStatus.TRIALING, SubscriptionStatus.INCOMPLETE),
    }
    return [name for name, ok in allowed.items() if ok]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
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
        "actions_buttons",
    ]
    exclude: list[str] = []
    inlines = [SubscriptionTransitionInline, SubscriptionNoteInline, InvoiceInline]

    def has_add_permission(self, request):
        return False  # customers subscribe through the storefront or the API (payment needed)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Actions")
    def actions_buttons(self, obj):
        if obj is None or not obj.pk:
            return "-"
        names = allowed_actions(obj)
        if not names:
            return "No action possible"
        return format_html_join(
            "",
            '<button type="submit" class="button" formmethod="post" formaction="{}">{}</button>&nbsp;',
            (
                (
                    reverse("admin:subscriptions_subscription_transition", args=[obj.pk, name]),
                    SUBSCRIPTION_ACTIONS[name][0],
                )
                for name in names
            ),
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/transition/<slug:action>/",
                self.admin_site.admin_view(self.transition_view),
                name="subscriptions_subscription_transition",
            )
        ] + super().get_urls()

    def transition_view(self, request, pk: int, action: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        sub = get_object_or_404(Subscription, pk=pk)
        if not self.has_change_permission(request, sub) or action not in SUBSCRIPTION_ACTIONS:
            return HttpResponseRedirect(reverse("admin:subscriptions_subscription_change", args=[pk]))
        label, call = SUBSCRIPTION_ACTIONS[action]
        try:
            call(sub, request.user)
        except FlowMartError as exc:
            self.message_user(request, f"{label}: {exc.detail}", messages.ERROR)
        else:
            self.message_user(request, f"{label}: done.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:subscriptions_subscription_change", args=[pk]))


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
