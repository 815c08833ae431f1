"""Reading the audit log: the filtered entries (admin, staff API) and their CSV rows."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet

from flowmart.staff.models import AuditEntry

AUDIT_CSV_COLUMNS = [
    "at",
    "actor_email",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "outcome",
    "reason",
    "ip",
    "source",
    "before",
    "after",
    "data",
    "error_code",
    "error_detail",
]


def audit_entries(
    *,
    actor_email: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    outcome: str = "",
    since=None,
    until=None,
) -> QuerySet[AuditEntry]:
    """Newest first; every filter optional."""
    qs = AuditEntry.objects.order_by("-at", "-id")
    if actor_email:
        qs = qs.filter(actor_email__iexact=actor_email)
    if action:
        qs = qs.filter(action=action)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if outcome:
        qs = qs.filter(outcome=outcome)
    if since is not None:
        qs = qs.filter(at__gte=since)
    if until is not None:
        qs = qs.filter(at__lt=until)
    return qs


class _Echo:
    def write(self, value: str) -> str:
        return value


def audit_csv_lines(entries: QuerySet[AuditEntry] | Iterable[AuditEntry]) -> Iterator[str]:
    """CSV text, one line at a time (the header first), reading the rows with a server-side cursor."""
    import json

    writer = csv.writer(_Echo())
    yield writer.writerow(AUDIT_CSV_COLUMNS)
    rows = entries.iterator(chunk_size=2000) if isinstance(entries, QuerySet) else entries
    for entry in rows:
        values = []
        for column in AUDIT_CSV_COLUMNS:
            value = getattr(entry, column)
            if column in ("before", "after", "data"):
                value = json.dumps(value, sort_keys=True)
            elif column == "at":
                value = value.isoformat()
            values.append("" if value is None else value)
        yield writer.writerow(values)
