"""Reading the audit log (``AuditEntry``: staff actions and changes to configuration and catalog, each with its
outcome): the filtered list (admin, staff API), the choices its filters offer, and its CSV."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast
from pghistory.core import event_models

from flowmart.csv_export import CHUNK_SIZE, CsvExport, time_cell
from flowmart.staff.actions import staff_actions
from flowmart.staff.change_log import ChangeLogged
from flowmart.staff.models import AUDIT_SEARCH_TEXT, AuditEntry, AuditOutcome

UNFINISHED = AuditEntry.UNFINISHED

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
_OUTCOME_COLUMNS = ("outcome", "after", "error_code", "error_detail")  # AuditOutcome's
_MISSING_OUTCOME = {AUDIT_CSV_COLUMNS.index("outcome"): UNFINISHED, AUDIT_CSV_COLUMNS.index("after"): "{}"}


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
) -> QuerySet[AuditEntry]:
    """Both kinds of line, newest first, each with its outcome (``select_related``: the page's rows join it, a
    count does not); every filter optional, each one an index of the table."""
    rows = AuditEntry.objects.select_related("result").order_by("-at", "-id")
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
        rows = audit_log_by_outcome(rows, outcome=outcome)
    if since is not None:
        rows = rows.filter(at__gte=since)
    if until is not None:
        rows = rows.filter(at__lt=until)
    return rows


def audit_log_search(rows: QuerySet[AuditEntry], *, text: str) -> QuerySet[AuditEntry]:
    """The lines of ``rows`` whose actor, action, object or reason contain every word of ``text`` (any case),
    through the search index (``AUDIT_SEARCH_TEXT``)."""
    rows = rows.alias(searched=AUDIT_SEARCH_TEXT)
    for word in text.split():
        rows = rows.filter(searched__contains=word.upper())
    return rows


def audit_log_by_outcome(rows: QuerySet[AuditEntry], *, outcome: str) -> QuerySet[AuditEntry]:
    """The lines of ``rows`` whose outcome is ``outcome`` ("unfinished": none yet), on the outcome's own column."""
    if outcome == UNFINISHED:
        return rows.filter(unfinished__isnull=False)
    return rows.filter(result__outcome=outcome)


def audit_log_outcomes() -> list[tuple[str, str]]:
    return [*AuditOutcome.Outcome.choices, (UNFINISHED, "Unfinished (no outcome yet)")]


def audit_log_object_types() -> list[str]:
    """Every object type a line can name: the declared staff actions' and the tracked models' (no table scan)."""
    return sorted({a.object_type for a in staff_actions()} | {logged.object_type for _, logged in _change_feeds()})


def audit_log_action_names() -> list[str]:
    """Every action a line can name: the declared staff actions, and each tracked model's insert/update/delete."""
    changes = {
        f"{logged.tracked}.{tracker.label}" for model, logged in _change_feeds() for tracker in model.pgh_trackers
    }
    return sorted({a.name for a in staff_actions()} | changes)


def audit_log_actor_emails() -> list[str]:
    """The staff whose lines the log can be filtered by."""
    return list(get_user_model().objects.filter(is_staff=True).order_by("email").values_list("email", flat=True))


def _change_feeds():
    for model in event_models():
        for trigger in getattr(model._meta, "triggers", []):
            if isinstance(trigger, ChangeLogged):
                yield model, trigger


def audit_log_export(rows: QuerySet[AuditEntry]) -> CsvExport:
    """The rows as CSV, read through a server-side cursor (100,000 rows are not held in memory). JSON columns
    come as PostgreSQL writes them (no decoding and encoding again per row); a line with no outcome yet reads
    as "unfinished"."""
    sources = {c: f"result__{c}" if c in _OUTCOME_COLUMNS else c for c in AUDIT_CSV_COLUMNS}
    as_text = {f"{c}_text": Cast(sources[c], TextField()) for c in _JSON_COLUMNS}
    columns = rows.annotate(**as_text).values_list(
        *(f"{c}_text" if c in _JSON_COLUMNS else sources[c] for c in AUDIT_CSV_COLUMNS)
    )

    def lines():
        for values in columns.iterator(chunk_size=CHUNK_SIZE):
            line = ["" if value is None else value for value in values]
            line[0] = time_cell(values[0])
            for index, missing in _MISSING_OUTCOME.items():
                if values[index] is None:
                    line[index] = missing
            yield line

    return CsvExport(header=AUDIT_CSV_COLUMNS, rows=lines())
