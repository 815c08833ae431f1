"""Move the test database's schema back and forth, for the migration tests."""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets):
    """Migrate to ``targets`` (``[(app, migration), …]``) and return the historical apps there."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def migrate_to_latest():
    """Every migration: today's models read the rows (the migrations under test and every later one)."""
    return migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
