"""Staff actions: each one declared once, run through one path (docs/staff.md §Staff actions).

A ``StaffAction`` says what staff may do to one kind of object: its label, the permission it needs, when it is
offered (a predicate on the object), an optional form (its input: reason, amount, lines…) and the one service
it calls. The admin's object buttons and bulk actions (``flowmart.staff.admin_actions``) and the staff API
(``flowmart.staff.api``) are built from the declarations, and all of them call ``staff_action_perform``: it
checks the permission, commits the audit entry (who, what, which object, before, input, IP, reason), calls the
service and appends the outcome (done with the state after, or refused: a domain error, ``FlowMartError``, is
raised again for the door to show as a message or a problem document). An entry whose process died before its
outcome is closed as ``interrupted`` by ``staff_actions_unfinished_close`` (docs/staff.md §Audit log).

Apps declare their actions in ``<app>/staff_actions.py`` (autodiscovered) with ``staff_action_declare``.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pghistory
from django import forms
from django.db import DatabaseError, models
from django.utils import timezone

from flowmart.errors import FlowMartError
from flowmart.staff.models import AuditEntry
from flowmart.staff.services import audit_entry_close, audit_entry_open


class StaffPermissionRequired(FlowMartError):
    code = "staff_permission_required"
    status = 403
    title = "Your staff role does not allow this action"


class StaffActionInputInvalid(FlowMartError):
    code = "invalid"
    status = 400
    title = "One or more fields are invalid; `errors` names them"


def _always(obj) -> bool:
    return True


@dataclass(frozen=True)
class StaffAction:
    """One thing staff may do to one kind of object.

    ``run(obj, by=user, reason=str, data=cleaned form data)`` calls the one service; ``offered(obj)`` says when
    the admin shows the button (the service still decides and refuses with its own error); ``form`` is a
    Django form for the input (the admin renders it, the API validates its JSON body with it); ``audit_fields``
    are the object's fields recorded before and after; ``bulk`` also offers it on the admin's list.
    """

    name: str  # "<app>.<model>.<verb>", unique
    label: str
    permission: str  # "<app_label>.<codename>"
    model: type[models.Model]
    run: Callable[..., Any]
    offered: Callable[[Any], bool] = _always
    form: type[forms.Form] | None = None
    initial: Callable[[Any], dict] | None = None  # the form's initial values for this object (admin)
    audit_fields: tuple[str, ...] = ("status",)
    bulk: bool = False
    default_reason: str = ""
    done_message: Callable[[Any], str] | None = None  # what the admin says after it, from the service's result

    @property
    def verb(self) -> str:
        return self.name.rsplit(".", 1)[1]

    @property
    def object_type(self) -> str:
        return self.model._meta.concrete_model._meta.label_lower

    def allowed_for(self, user) -> bool:
        return bool(
            user and user.is_authenticated and user.is_active and user.is_staff and user.has_perm(self.permission)
        )

    def offered_to(self, user, obj) -> bool:
        return self.allowed_for(user) and self.offered(obj)

    def snapshot(self, obj) -> dict:
        return {name: _json_value(getattr(obj, name, None)) for name in self.audit_fields}


_REGISTRY: dict[str, StaffAction] = {}


class StaffActionDeclaredTwice(TypeError):
    pass


def staff_action_declare(action: StaffAction) -> StaffAction:
    if action.name in _REGISTRY and _REGISTRY[action.name] != action:
        raise StaffActionDeclaredTwice(f"staff action {action.name!r} is declared twice")
    _REGISTRY[action.name] = action
    return action


def staff_actions() -> list[StaffAction]:
    """Every declared action, by name."""
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def staff_actions_for(model: type[models.Model]) -> list[StaffAction]:
    """The actions on ``model`` (a proxy model shares its concrete model's), in declaration order."""
    concrete = model._meta.concrete_model
    return [a for a in _REGISTRY.values() if a.model._meta.concrete_model is concrete]


def staff_action_get(name: str) -> StaffAction:
    return _REGISTRY[name]


def staff_action_form(action: StaffAction, data: Mapping | None) -> forms.Form | None:
    return action.form(data=data) if action.form is not None else None


def staff_action_perform(
    *,
    action: StaffAction,
    obj,
    by,
    source: str,
    ip: str | None = None,
    reason: str = "",
    data: Mapping | None = None,
):
    """The one path: permission, input, the service, the audit entry. Returns what the service returned.

    ``data`` is the raw input (a POST or a JSON body) validated with the action's form, or already clean data
    when ``action.form`` is None. Raises ``StaffPermissionRequired`` (403), ``StaffActionInputInvalid`` (400,
    ``errors``) or the service's ``FlowMartError`` (recorded as refused).
    """
    if not action.allowed_for(by):
        raise StaffPermissionRequired(f"{action.label}: your staff role does not include {action.permission}.")
    cleaned: dict = {}
    if action.form is not None:
        form = action.form(data=data or {})
        if not form.is_valid():
            raise StaffActionInputInvalid(errors={k: [str(m) for m in v] for k, v in form.errors.items()})
        cleaned = dict(form.cleaned_data)
    form_reason = cleaned.pop("reason", "") or ""
    reason = (reason or form_reason).strip()
    # Committed before the service runs: whatever happens to this process from here on, the log says who started
    # what on which object; the outcome is appended below, or by the sweeper if the process dies first.
    entry = audit_entry_open(
        action=action.name,
        label=action.label,
        actor=by,
        object_type=action.object_type,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        before=action.snapshot(obj),
        data={k: _json_value(v) for k, v in cleaned.items()},
        reason=reason,
        ip=ip,
        source=source,
    )
    try:
        # Rows the service changes in tracked tables carry who, the action and this entry in their history's context
        # (their lines in the log name them), whichever door it came through.
        with pghistory.context(user=by.pk, staff_action=action.name, reason=reason, audit_entry=entry.pk):
            result = action.run(obj, by=by, reason=reason or action.default_reason, data=cleaned)
    except FlowMartError as exc:
        audit_entry_close(
            entry=entry, outcome="refused", after=entry.before, error_code=exc.code, error_detail=exc.detail
        )
        raise
    except Exception as exc:
        with contextlib.suppress(DatabaseError):  # the database itself may be what failed: the sweeper closes it
            audit_entry_close(
                entry=entry, outcome="failed", after=_state_now(action, obj), error_code=type(exc).__name__
            )
        raise
    audit_entry_close(entry=entry, outcome="done", after=_state_now(action, obj))
    return result


def _state_now(action: StaffAction, obj) -> dict:
    fresh = type(obj)._default_manager.filter(pk=obj.pk).first()
    return action.snapshot(fresh) if fresh is not None else {}


def staff_actions_unfinished_close(*, older_than_seconds: float) -> int:
    """Close the entries whose process died between writing the entry and its outcome (SIGKILL, OOM, a lost
    machine), older than any staff action can run (a request is killed by gunicorn's timeout long before):
    append ``interrupted`` with the object's state as found now, so the log shows honestly that the outcome was
    not seen and what the object looks like. Returns how many were closed. Beat runs it
    (``close_unfinished_audit_entries_task``)."""
    from django.apps import apps

    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    closed = 0
    for entry in AuditEntry.objects.filter(at__lt=cutoff, unfinished__isnull=False).order_by("id")[:1000]:
        action = _REGISTRY.get(entry.action)
        model = apps.get_model(entry.object_type)
        obj = model._default_manager.filter(pk=entry.object_id).first()
        after = action.snapshot(obj) if action is not None and obj is not None else {}
        detail = "The process running this action ended before it recorded the outcome; after: the object as found."
        if audit_entry_close(entry=entry, outcome="interrupted", after=after, error_detail=detail) is not None:
            closed += 1
    return closed


def request_client_ip(request) -> str | None:
    """The caller's address: behind the proxy (``BEHIND_PROXY``) the first X-Forwarded-For hop, else the peer;
    None when that is not an IP address."""
    from django.conf import settings

    if settings.SECURE_PROXY_SSL_HEADER and request.META.get("HTTP_X_FORWARDED_FOR"):
        address = request.META["HTTP_X_FORWARDED_FOR"].split(",")[0].strip()
    else:
        address = request.META.get("REMOTE_ADDR") or ""
    try:  # a forged header is not an address: the log keeps the line without one
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def _json_value(value):
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json_value(v) for v in value]
    return str(value)


__all__ = [
    "StaffAction",
    "StaffActionInputInvalid",
    "StaffPermissionRequired",
    "request_client_ip",
    "staff_action_declare",
    "staff_action_form",
    "staff_action_get",
    "staff_action_perform",
    "staff_actions",
    "staff_actions_for",
    "staff_actions_unfinished_close",
]
