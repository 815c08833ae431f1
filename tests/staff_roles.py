"""The staff roles as the data migration makes them, for tests: a transactional test flushes every table (the
groups with them), so a fixture that needs a role makes it again by running that migration's own code."""

from __future__ import annotations

import importlib

from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

ROLES_MIGRATION = ("staff", "0002_staff_roles")


def staff_roles_ensure() -> None:
    if Group.objects.filter(name__in=["Support", "Warehouse", "Finance", "Manager"]).count() == 4:
        return
    state = MigrationExecutor(connection).loader.project_state(ROLES_MIGRATION, at_end=True)
    module = importlib.import_module("flowmart.staff.migrations.0002_staff_roles")
    module.create_roles(state.apps, None)
    # Later migrations grant the roles more (reports: Finance and Manager see the reports; Support clears orders' flags).
    importlib.import_module("reports.migrations.0002_reports_for_finance_and_manager").grant(state.apps, None)
    importlib.import_module("orders.migrations.0020_clear_order_flag_permission").grant(state.apps, None)
