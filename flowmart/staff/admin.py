"""The one audit log in the admin: staff actions and changes to configuration and catalog in one chronological
list, filtered by kind, actor, object type, action, outcome, door and date (``?at__gte=…&at__lt=…`` for any
range), read-only for everyone (superusers too), **Export CSV** of the list as filtered, streamed.
The tables behind it refuse UPDATE and DELETE on their own (triggers), whatever screen or shell asks."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from flowmart.admin_csv_export import CsvExportAdmin
from flowmart.read_only_admin import ReadOnlyAdmin
from flowmart.staff.models import AuditLogRow
from flowmart.staff.selectors import audit_log_export

VIEW_PERMISSION = "staff.view_auditentry"  # Finance, Manager


@admin.register(AuditLogRow)
class AuditLogAdmin(CsvExportAdmin, ReadOnlyAdmin):
    csv_export = staticmethod(audit_log_export)
    csv_filename = "flowmart-audit-log"
    ordering = ["-at", "-key"]
    list_display = ["at", "actor_email", "label", "object_type", "object_repr", "change", "outcome", "reason", "ip"]
    list_filter = ["kind", "outcome", "source", "object_type", "action", "actor_email", "at"]
    search_fields = ["actor_email", "object_id", "object_repr", "reason", "=action"]
    date_hierarchy = "at"
    show_full_result_count = False  # one count of the whole log per page is enough
    fields = [
        "at",
        "kind",
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
        "url",
        "change",
        "input",
    ]
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff and request.user.has_perm(VIEW_PERMISSION)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    @admin.display(description="before → after")
    def change(self, row: AuditLogRow):
        keys = sorted(set(row.before) | set(row.after))
        return format_html(
            "<pre>{}</pre>", "\n".join(f"{k}: {row.before.get(k)!r} → {row.after.get(k)!r}" for k in keys) or "—"
        )

    @admin.display(description="input")
    def input(self, row: AuditLogRow):
        return format_html("<pre>{}</pre>", json.dumps(row.data, indent=2, sort_keys=True))
