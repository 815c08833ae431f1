"""The roles migration: four groups, each with what it needs and not what it must not do; running it twice
changes nothing; Warehouse and Finance are the groups earlier migrations made, extended."""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.staff_roles import staff_roles_ensure

pytestmark = pytest.mark.django_db


def perms(name: str) -> set[str]:
    group = Group.objects.get(name=name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_the_roles_migration_makes_four_roles_once():
    Group.objects.filter(name="Finance").delete()
    Group.objects.get_or_create(name="Warehouse")  # made by shipping 0006: extended, not duplicated
    state = MigrationExecutor(connection).loader.project_state(("staff", "0002_staff_roles"), at_end=True)
    migration = importlib.import_module("flowmart.staff.migrations.0002_staff_roles")
    migration.create_roles(state.apps, None)
    migration.create_roles(state.apps, None)

    assert Group.objects.filter(name__in=["Support", "Warehouse", "Finance", "Manager"]).count() == 4
    support, warehouse, finance = perms("Support"), perms("Warehouse"), perms("Finance")
    assert {
        "orders.hold_order",
        "orders.cancel_order",
        "shipping.decide_return",
        "notifications.resend_notification",
    } <= support
    assert not {"orders.cancel_dispatched_order", "payments.refund_payment", "shipping.receive_return"} & support
    assert {"inventory.adjust_stock", "shipping.receive_return", "shipping.dispatch_shipment"} <= warehouse
    assert not {"orders.hold_order", "orders.cancel_order", "payments.approve_refund"} & warehouse
    assert {"payments.refund_payment", "payments.approve_refund", "staff.view_auditentry"} <= finance
    assert not {"orders.hold_order", "shipping.receive_return", "auth.change_group"} & finance
    assert len(perms("Manager")) == Permission.objects.count()


def test_the_demo_has_one_non_superuser_per_role(db):
    from django.contrib.auth import authenticate

    from flowmart.users.demo import DEMO_PASSWORD, demo_accounts_ensure

    staff_roles_ensure()  # the roles migration's groups (a transactional test may have flushed them)
    demo_accounts_ensure()
    demo_accounts_ensure()  # idempotent

    for email, role in [
        ("support@flowmart.test", "Support"),
        ("warehouse@flowmart.test", "Warehouse"),
        ("finance@flowmart.test", "Finance"),
        ("manager@flowmart.test", "Manager"),
    ]:
        user = authenticate(email=email, password=DEMO_PASSWORD)
        assert user is not None, email
        assert (user.is_staff, user.is_superuser, [g.name for g in user.groups.all()]) == (True, False, [role])
