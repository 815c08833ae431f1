"""Writing the audit log: one row per staff action, done or refused (``staff_action_perform`` calls this)."""

from __future__ import annotations

from flowmart.staff.models import AuditEntry


def audit_record(
    *,
    action: str,
    label: str,
    actor,
    object_type: str,
    object_id: str,
    object_repr: str,
    before: dict,
    after: dict,
    data: dict,
    reason: str,
    ip: str | None,
    source: str,
    outcome: str,
    error_code: str = "",
    error_detail: str = "",
) -> AuditEntry:
    """Append one entry (its own autocommit statement: the service it describes has committed or rolled back)."""
    return AuditEntry.objects.create(
        action=action,
        label=label,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_email=getattr(actor, "email", "") or "",
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        before=before,
        after=after,
        data=data,
        reason=reason,
        ip=ip,
        source=source,
        outcome=outcome,
        error_code=error_code,
        error_detail=error_detail,
    )
