"""Every staff action is declared once with a permission a role holds, and whatever it is, it runs through the
one path: refused without the permission, and one audit entry per run (done or refused)."""

from __future__ import annotations

import dataclasses

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission

from flowmart.errors import Conflict
from flowmart.staff.actions import StaffPermissionRequired, staff_action_perform, staff_actions
from flowmart.staff.admin_actions import StaffActionsAdmin
from flowmart.staff.selectors import audit_log

pytestmark = pytest.mark.django_db

ROLES = ("Support", "Warehouse", "Finance", "Manager")


def test_the_apps_declare_their_actions():
    assert {a.name.split(".")[0] for a in staff_actions()} == {
        "inventory",
        "notifications",
        "orders",
        "payments",
        "shipping",
        "subscriptions",
    }


# Repairs and memberships are the Manager's alone; every other action belongs to a role below it too.
MANAGER_ONLY = {
    "orders.order.cancel_dispatched",
    "orders.order.resume_saga",
    "orders.order.settle",
    "subscriptions.subscription.pause",
    "subscriptions.subscription.resume",
    "subscriptions.subscription.cancel_at_period_end",
    "subscriptions.subscription.cancel",
    "subscriptions.subscription.expire",
}


def test_each_action_needs_a_real_permission_held_by_the_manager_and_its_role(staff_member):
    members = {role: staff_member(role) for role in ROLES}
    for action in staff_actions():
        app_label, codename = action.permission.split(".")
        assert Permission.objects.filter(content_type__app_label=app_label, codename=codename).exists(), action.name
        holders = {role for role, user in members.items() if user.has_perm(action.permission)}
        expected = {"Manager"} if action.name in MANAGER_ONLY else holders | {"Manager"}
        assert holders == expected and (action.name in MANAGER_ONLY or len(holders) >= 2), (action.name, holders)


def test_every_action_goes_through_the_one_path_and_writes_an_audit_entry(staff_member, customer, monkeypatch):
    manager = staff_member("Manager")
    actions = staff_actions()
    for action in actions:
        # The path is under test here (each service is tested with its app): an unsaved object will do.
        monkeypatch.setattr(action.model, "__str__", lambda self: "probe")
        obj = action.model()
        probe = dataclasses.replace(action, form=None, run=lambda o, **kw: "ran")
        with pytest.raises(StaffPermissionRequired):
            staff_action_perform(action=probe, obj=obj, by=customer, source="api")
        result = staff_action_perform(action=probe, obj=obj, by=manager, source="admin", ip="10.0.0.1", reason="why")
        assert result == "ran"

        def refuse(o, **kw):
            raise Conflict("not now")

        with pytest.raises(Conflict):
            staff_action_perform(action=dataclasses.replace(probe, run=refuse), obj=obj, by=manager, source="api")

    rows = list(
        audit_log(kind="action").order_by("at").values_list("action", "actor", "result__outcome", "ip", "reason")
    )
    assert rows == [
        row
        for action in actions
        for row in (
            (action.name, manager.pk, "done", "10.0.0.1", "why"),
            (action.name, manager.pk, "refused", None, ""),
        )
    ]


def test_every_model_with_actions_gets_its_buttons_and_bulk_actions_from_the_declarations():
    for model in {a.model for a in staff_actions()}:
        assert isinstance(admin.site._registry[model], StaffActionsAdmin), model
