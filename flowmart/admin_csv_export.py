"""*Export CSV* on an admin changelist: the rows the changelist shows now (its filters, search and date
hierarchy), all of them, streamed (``flowmart/csv_export.py``). An admin opts in with the mixin and the app's
export function::

    class OrderAdmin(CsvExportAdmin, admin.ModelAdmin):
        csv_export = staticmethod(lambda queryset: exports.orders_export(orders=queryset))
        csv_filename = "orders"
"""

from __future__ import annotations

from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path
from django.utils import timezone

from flowmart.csv_export import csv_response


class CsvExportAdmin:
    csv_export = None  # staticmethod(queryset -> CsvExport)
    csv_filename = "export"
    change_list_template = "admin/csv_export_change_list.html"

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "export.csv",
                self.admin_site.admin_view(self.csv_export_view),
                name=f"{opts.app_label}_{opts.model_name}_export_csv",
            )
        ] + super().get_urls()

    def csv_export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(request.path.removesuffix("export.csv") + "?e=1")
        export = self.csv_export(changelist.get_queryset(request))
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        return csv_response(filename=f"{self.csv_filename}-{stamp}.csv", header=export.header, rows=export.rows)
