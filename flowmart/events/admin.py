from __future__ import annotations

import json

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from flowmart.events import commands, dispatcher, selectors
from flowmart.events.models import Command, DeadLetter, Delivery, OutboxEvent
from flowmart.read_only_admin import ReadOnlyAdmin


class DeliveryInline(admin.TabularInline):
    model = Delivery
    ordering = ["-created_at"]
    extra = 0
    can_delete = False
    fields = ["handler", "status", "attempts", "processed_at", "next_attempt_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    ordering = ["occurred_at", "created_at"]
    list_display = ["name", "producer", "correlation_id", "occurred_at", "dispatched_at"]
    list_filter = ["name", "producer"]
    search_fields = ["correlation_id", "=event_id"]
    date_hierarchy = "occurred_at"
    readonly_fields = [
        "event_id",
        "name",
        "version",
        "producer",
        "occurred_at",
        "correlation_id",
        "causation_id",
        "pretty_payload",
        "created_at",
        "dispatched_at",
    ]
    exclude = ["payload"]
    inlines = [DeliveryInline]

    @admin.display(description="payload")
    def pretty_payload(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, sort_keys=True))

    def get_urls(self):
        return [
            path("catalog/", self.admin_site.admin_view(self.catalog_view), name="events_catalog"),
        ] + super().get_urls()

    def catalog_view(self, request):
        context = {
            **self.admin_site.each_context(request),
            "title": "Event catalog",
            "catalog": selectors.event_catalog(),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "events/catalog.html", context)


@admin.action(description="Retry the selected deliveries now")
def retry_deliveries(modeladmin, request, queryset):
    ids = dispatcher.deliveries_retry(delivery_ids=list(queryset.values_list("id", flat=True)))
    modeladmin.message_user(request, f"{len(ids)} delivery(ies) queued again.", messages.SUCCESS)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    ordering = ["-created_at"]
    list_display = ["event_name", "handler", "status", "attempts", "updated_at", "next_attempt_at"]
    list_filter = ["status", "handler"]
    search_fields = ["handler", "event__name", "event__correlation_id"]
    list_select_related = ["event"]
    readonly_fields = [
        "event",
        "handler",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "processed_at",
        "created_at",
        "updated_at",
    ]
    actions = [retry_deliveries]

    @admin.display(description="event", ordering="event__name")
    def event_name(self, obj):
        return obj.event.name


@admin.register(DeadLetter)
class DeadLetterAdmin(DeliveryAdmin):
    list_filter = ["handler"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(status=Delivery.Status.DEAD)


@admin.action(description="Retry the selected commands now")
def retry_commands(modeladmin, request, queryset):
    ids = commands.commands_retry(command_ids=list(queryset.values_list("id", flat=True)))
    modeladmin.message_user(request, f"{len(ids)} command(s) queued again.", messages.SUCCESS)


@admin.register(Command)
class CommandAdmin(ReadOnlyAdmin):
    """Follow-up work of event handlers (refunds, captures, restocks): dead ones wait here for staff."""

    list_display = ["task_name", "correlation_id", "status", "attempts", "created_at", "processed_at"]
    ordering = ["-created_at"]
    list_filter = ["status", "task_name"]
    search_fields = ["correlation_id", "task_name"]
    readonly_fields = [
        "task_name",
        "kwargs",
        "correlation_id",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "queued_at",
        "claimed_until",
        "processed_at",
        "created_at",
        "updated_at",
    ]
    actions = [retry_commands]
