"""Staff screens: message history (with resend), template overrides (with preview), devices, sandbox, CSAT."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from flowmart.admin_inlines import TransitionLogInline
from flowmart.read_only_admin import ReadOnlyAdmin
from flowmart.staff.admin_actions import StaffActionsAdmin
from notifications import rendering, selectors
from notifications.kinds import kind_choices
from notifications.models import (
    BackInStockRequest,
    Device,
    Feedback,
    Notification,
    NotificationTemplate,
    NotificationTransition,
    Preference,
    SandboxMessage,
)


class TransitionInline(TransitionLogInline):
    model = NotificationTransition


@admin.register(Notification)
class NotificationAdmin(StaffActionsAdmin, admin.ModelAdmin):
    ordering = ["-created_at", "-id"]
    list_display = ["created_at", "kind", "channel", "to_address", "status", "attempts", "correlation_id"]
    list_filter = ["status", "channel", "kind", "category"]
    search_fields = ["to_address", "correlation_id", "provider_message_id", "=public_id", "recipient__email"]
    date_hierarchy = "created_at"
    list_select_related = ["recipient"]
    change_list_template = "notifications/admin/notification_change_list.html"
    inlines = [TransitionInline]
    exclude = ["context", "body_html"]
    readonly_fields = [
        "public_id",
        "kind",
        "category",
        "channel",
        "recipient",
        "to_address",
        "status",
        "template",
        "subject",
        "body_text",
        "html_preview",
        "pretty_context",
        "attempts",
        "provider_message_id",
        "error",
        "dedupe_key",
        "event_id",
        "correlation_id",
        "resent_from",
        "created_at",
        "sent_at",
        "delivered_at",
        "failed_at",
        "next_attempt_at",
        "claimed_until",
    ]

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="HTML part")
    def html_preview(self, obj):
        if not obj.body_html:
            return "—"
        return format_html(
            '<iframe sandbox="" srcdoc="{}" style="width:100%;height:420px;border:1px solid #ccc"></iframe>',
            obj.body_html,
        )

    @admin.display(description="context")
    def pretty_context(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.context, indent=2, sort_keys=True))


class NotificationTemplateForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=kind_choices())

    class Meta:
        model = NotificationTemplate
        fields = ["kind", "channel", "subject", "body_text", "body_html", "is_active"]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.preview = rendering.template_preview(
                kind=cleaned["kind"],
                channel=cleaned["channel"],
                subject=cleaned.get("subject", ""),
                body_text=cleaned.get("body_text", ""),
                body_html=cleaned.get("body_html", ""),
            )
        except rendering.TemplateRenderError as exc:
            raise forms.ValidationError(f"This template cannot be rendered, so it was not saved: {exc.detail}") from exc
        return cleaned


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin):
    ordering = ["kind", "channel"]
    form = NotificationTemplateForm
    list_display = ["kind", "channel", "is_active", "updated_by", "updated_at"]
    list_filter = ["channel", "is_active"]
    change_form_template = "notifications/admin/template_change_form.html"

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    def get_urls(self):
        return [
            path(
                "preview/",
                self.admin_site.admin_view(self.preview_view),
                name="notifications_notificationtemplate_preview",
            )
        ] + super().get_urls()

    def preview_view(self, request):
        """Render the draft in the form on the kind's sample data, without saving it."""
        form = NotificationTemplateForm(request.POST or None)
        preview = form.preview if request.method == "POST" and form.is_valid() else None
        context = {
            **self.admin_site.each_context(request),
            "title": "Template preview",
            "opts": self.model._meta,
            "form": form,
            "preview": preview,
        }
        return TemplateResponse(
            request,
            "notifications/admin/template_preview.html",
            context,
            status=200 if preview or request.method == "GET" else 400,
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["preview_url"] = reverse("admin:notifications_notificationtemplate_preview")
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    ordering = ["-last_seen_at"]
    list_display = ["user", "platform", "name", "is_active", "last_seen_at"]
    list_filter = ["platform", "is_active"]
    search_fields = ["user__email", "token"]
    raw_id_fields = ["user"]


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "category", "channel", "enabled", "updated_at"]
    list_filter = ["category", "channel", "enabled"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]


@admin.register(SandboxMessage)
class SandboxMessageAdmin(ReadOnlyAdmin):
    ordering = ["-created_at", "-id"]
    list_display = ["created_at", "channel", "to", "title", "body"]
    list_filter = ["channel"]
    search_fields = ["to", "body"]


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    ordering = ["-created_at"]
    list_display = ["order_number", "email", "rating", "submitted_at", "requested_at", "due_at"]
    list_filter = ["rating"]
    search_fields = ["order_number", "email"]
    change_list_template = "notifications/admin/feedback_change_list.html"

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "csat": selectors.csat_summary()}
        return super().changelist_view(request, extra_context=extra_context)


@admin.register(BackInStockRequest)
class BackInStockRequestAdmin(ReadOnlyAdmin):
    """The queue per SKU, in the order customers will be told (first asked, first told)."""

    list_display = ["sku", "product_name", "email", "user", "requested_at", "confirmed_at", "notified_at", "channel"]
    list_filter = ["notified_at", "channel"]
    search_fields = ["sku", "email", "product_name"]
    ordering = ["sku", "requested_at", "id"]
    list_select_related = ["user"]
