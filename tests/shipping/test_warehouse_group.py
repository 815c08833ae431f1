"""The data migration that creates the Warehouse group (the logistics team told of failed deliveries)."""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db


def test_the_migration_creates_the_warehouse_group_with_the_shipment_permissions():
    Group.objects.filter(name="Warehouse").delete()
    state = MigrationExecutor(connection).loader.project_state(("shipping", "0006_warehouse_group"))
    migration = importlib.import_module("shipping.migrations.0006_warehouse_group")

    migration.create_group(state.apps, None)
    migration.create_group(state.apps, None)  # running it again changes nothing

    group = Group.objects.get(name="Warehouse")
    assert set(group.permissions.values_list("codename", flat=True)) == {
        "view_shipment",
        "change_shipment",
        "view_deliveryfailure",
        "view_trackingevent",
        "view_returnrequest",
        "change_returnrequest",
    }
