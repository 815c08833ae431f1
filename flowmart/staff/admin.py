"""The audit log in the admin: staff actions and changes to configuration and catalog in one chronological list,
filtered by kind, outcome, door, object type, action, actor and date (``?at__gte=…&at__lt=…`` for any range),
read-only for everyone (superusers too), **Export CSV** of the list as filtered, streamed. The tables behind it
refuse UPDATE and DELETE on their own (triggers), whatever screen or shell asks.

One table (``AuditEntry``) with an index per filter; the filters' choices come from the declarations (staff
actions, tracked models) and the staff accounts, not from scanning the log."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from flowmart.admin_csv_export import CsvExportAdmin
from flowmart.read_only_admin import ReadOnlyAdmin
from flowmart.staff import selectors
from flowmart.staff.models import AuditEntry

VIEW_PERMISSION = "staff.view_auditentry"  # Finance, Manager


class _ColumnFilter(admin.SimpleListFilter):
    """A filter on the column ``parameter_name`` whose choices (``lookups``) are known without reading the log."""

    def queryset(self, request, queryset):
        return queryset.filter(**{self.parameter_name: self.value()}) if self.value() else queryset


class OutcomeFilter(_ColumnFilter):
    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        return selectors.audit_log_outcomes()

    def queryset(self, request, queryset):
        return selectors.audit_log_by_outcome(queryset, outcome=self.value()) if self.value() else queryset


class ObjectTypeFilter(_ColumnFilter):
    title = "object type"
    parameter_name = "object_type"

    def lookups(self, request, model_admin):
        return [(t, t) for t in selectors.audit_log_object_types()]


class ActionFilter(_ColumnFilter):
    title = "action"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return [(a, a) for a in selectors.audit_log_action_names()]


class ActorFilter(_ColumnFilter):
    title = "staff member"
    parameter_name = "actor_email"

    def lookups(self, request, model_admin):
        return [(e, e) for e in selectors.audit_log_actor_emails()]

    def queryset(self, request, queryset):
        return queryset.filter(actor_email__iexact=self.value()) if self.value() else queryset


@admin.register(AuditEntry)
class AuditLogAdmin(CsvExportAdmin, ReadOnlyAdmin):
    csv_export = staticmethod(selectors.audit_log_export)
    csv_filename = "flowmart-audit-log"
    ordering = ["-at", "-id"]
    list_display = ["at", "actor_email", "label", "object_type", "object_repr", "change", "outcome", "reason", "ip"]
    list_filter = ["kind", OutcomeFilter, "source", ObjectTypeFilter, ActionFilter, ActorFilter, "at"]
    search_fields = ["actor_email", "action", "object_id", "object_repr", "reason"]  # as one indexed text
    show_full_result_count = False  # one count per page is enough
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
        "event",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return selectors.audit_log()

    def get_search_results(self, request, queryset, search_term):
        return selectors.audit_log_search(queryset, text=search_term), False

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff and request.user.has_perm(VIEW_PERMISSION)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    @admin.display(description="before → after")
    def change(self, row: AuditEntry):
        keys = sorted(set(row.before) | set(row.after))
        return format_html(
            "<pre>{}</pre>", "\n".join(f"{k}: {row.before.get(k)!r} → {row.after.get(k)!r}" for k in keys) or "—"
        )

    @admin.display(description="input")
    def input(self, row: AuditEntry):
        return format_html("<pre>{}</pre>", json.dumps(row.data, indent=2, sort_keys=True))
