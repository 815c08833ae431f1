"""The data migration that creates the Finance group (refund approvers)."""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db


def test_the_migration_creates_the_finance_group_with_the_approval_queue_permissions():
    Group.objects.filter(name="Finance").delete()
    state = MigrationExecutor(connection).loader.project_state(("payments", "0002_finance_group"))
    migration = importlib.import_module("payments.migrations.0002_finance_group")

    migration.create_group(state.apps, None)

    group = Group.objects.get(name="Finance")
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"view_payment", "view_pendingrefund", "change_pendingrefund", "view_reconciliationreport"} <= codenames
