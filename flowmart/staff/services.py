"""Writing the audit log of staff actions: the entry before the service runs, its outcome after
(``staff_action_perform``), and the outcome the sweeper appends for an entry whose process died."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from flowmart.staff.models import AuditEntry, AuditOutcome


def audit_entry_open(
    *,
    action: str,
    label: str,
    actor,
    object_type: str,
    object_id: str,
    object_repr: str,
    before: dict,
    data: dict,
    reason: str,
    ip: str | None,
    source: str,
) -> AuditEntry:
    """Append who asks for what, before anything changes. Its own autocommit statement: committed before the
    service runs, so a process killed at any point after this leaves the log saying who started what."""
    return AuditEntry.objects.create(
        action=action,
        label=label,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_email=getattr(actor, "email", "") or "",
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        before=before,
        data=data,
        reason=reason,
        ip=ip,
        source=source,
    )


def audit_entry_close(
    *, entry: AuditEntry, outcome: str, after: dict, error_code: str = "", error_detail: str = ""
) -> AuditOutcome | None:
    """Append what came of ``entry``: once. None when it already has an outcome (the sweeper got there first)."""
    try:
        with transaction.atomic():
            return AuditOutcome.objects.create(
                entry=entry, outcome=outcome, after=after, error_code=error_code, error_detail=error_detail
            )
    except IntegrityError:
        return None
