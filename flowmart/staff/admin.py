"""The audit log in the admin: browse and filter, read-only for everyone (superusers too), CSV of the filtered
list. The table refuses UPDATE and DELETE on its own (a trigger), whatever screen or shell asks."""

from __future__ import annotations

import json

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.urls import path
from django.utils.html import format_html

from flowmart.staff.models import AuditEntry
from flowmart.staff.selectors import audit_csv_lines


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    ordering = ["-at", "-id"]
    list_display = ["at", "actor_email", "label", "object_type", "object_repr", "outcome", "reason", "ip", "source"]
    list_filter = ["outcome", "source", "object_type", "action", "at"]
    search_fields = ["actor_email", "object_id", "object_repr", "reason", "=action"]
    date_hierarchy = "at"
    change_list_template = "admin/staff/auditentry_change_list.html"
    fields = [
        "at",
        "actor_email",
        "action",
        "label",
        "object_type",
        "object_id",
        "object_repr",
        "outcome",
        "error_code",
        "error_detail",
        "reason",
        "ip",
        "source",
        "change",
        "input",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="before → after")
    def change(self, entry: AuditEntry):
        keys = sorted(set(entry.before) | set(entry.after))
        return format_html(
            "<pre>{}</pre>", "\n".join(f"{k}: {entry.before.get(k)!r} → {entry.after.get(k)!r}" for k in keys) or "—"
        )

    @admin.display(description="input")
    def input(self, entry: AuditEntry):
        return format_html("<pre>{}</pre>", json.dumps(entry.data, indent=2, sort_keys=True))

    def get_urls(self):
        return [
            path("export-csv/", self.admin_site.admin_view(self.export_csv_view), name="staff_auditentry_export_csv"),
            *super().get_urls(),
        ]

    def export_csv_view(self, request):
        """The list as filtered on screen, streamed row by row."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        entries = self.get_changelist_instance(request).get_queryset(request)
        response = StreamingHttpResponse(audit_csv_lines(entries), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="flowmart-audit-log.csv"'
        return response
