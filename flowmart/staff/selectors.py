"""Reading the one audit log (staff actions and configuration/catalog changes, ``AuditLogRow``): the filtered
list (admin, staff API) and its CSV."""

from __future__ import annotations

import json

from django.db.models import QuerySet

from flowmart.csv_export import CHUNK_SIZE, CsvExport, time_cell
from flowmart.staff.models import AuditLogRow

AUDIT_CSV_COLUMNS = [
    "at",
    "kind",
    "actor_email",
    "action",
    "label",
    "object_type",
    "object_id",
    "object_repr",
    "outcome",
    "reason",
    "ip",
    "source",
    "url",
    "before",
    "after",
    "data",
    "error_code",
    "error_detail",
]
_JSON_COLUMNS = ("before", "after", "data")


def audit_log(
    *,
    kind: str = "",
    actor_email: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    outcome: str = "",
    since=None,
    until=None,
) -> QuerySet[AuditLogRow]:
    """Both kinds of entry, newest first; every filter optional."""
    rows = AuditLogRow.objects.order_by("-at", "-key")
    if kind:
        rows = rows.filter(kind=kind)
    if actor_email:
        rows = rows.filter(actor_email__iexact=actor_email)
    if action:
        rows = rows.filter(action=action)
    if object_type:
        rows = rows.filter(object_type=object_type)
    if object_id:
        rows = rows.filter(object_id=object_id)
    if outcome:
        rows = rows.filter(outcome=outcome)
    if since is not None:
        rows = rows.filter(at__gte=since)
    if until is not None:
        rows = rows.filter(at__lt=until)
    return rows


def audit_log_export(rows: QuerySet[AuditLogRow]) -> CsvExport:
    """The rows as CSV, read through a server-side cursor (100,000 rows are not held in memory)."""

    def lines():
        for row in rows.iterator(chunk_size=CHUNK_SIZE):
            yield [
                time_cell(row.at)
                if column == "at"
                else json.dumps(getattr(row, column), sort_keys=True)
                if column in _JSON_COLUMNS
                else getattr(row, column) or ""
                for column in AUDIT_CSV_COLUMNS
            ]

    return CsvExport(header=AUDIT_CSV_COLUMNS, rows=lines())
