"""Admin → Reports: the owner's reports page (charts, tables, CSV of each table); the dashboard on the admin
index is ``templatetags/reports_dashboard.py``. Both need ``reports.view_reports``."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path

from flowmart.csv_export import csv_response
from reports import charts
from reports.forms import ReportRangeForm
from reports.models import Report
from reports.selectors import default_range, owner_report

PERMISSION = "reports.view_reports"


def _report_for(request):
    form = ReportRangeForm(request.GET or None)
    if form.is_bound and form.is_valid():
        date_range, period = form.cleaned_data["date_range"], form.cleaned_data["period"]
    else:
        date_range, period = default_range(), "day"
    return form, owner_report(date_range=date_range, period=period)


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """No table behind it: the changelist is the reports page."""

    def has_module_permission(self, request):
        return request.user.has_perm(PERMISSION)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(PERMISSION)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path("", self.admin_site.admin_view(self.reports_view), name="reports_report_changelist"),
            path("<slug:table>.csv", self.admin_site.admin_view(self.csv_view), name="reports_report_csv"),
        ]

    def reports_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form, report = _report_for(request)
        context = {
            **self.admin_site.each_context(request),
            "title": "Reports",
            "opts": self.model._meta,
            "form": form,
            "report": report,
            "tables": report.tables(),
            "charts": charts.report_charts(report),
            "query": request.GET.urlencode(),
        }
        return TemplateResponse(request, "reports/reports.html", context)

    def csv_view(self, request, table):
        if not self.has_view_permission(request):
            raise PermissionDenied
        _form, report = _report_for(request)
        found = report.table(table)
        if found is None:
            raise Http404("No such table")
        r = report.date_range
        return csv_response(
            filename=f"{found.slug}-{r.since.isoformat()}-{r.until.isoformat()}.csv",
            header=found.columns,
            rows=found.rows,
        )
