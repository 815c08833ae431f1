"""Fixtures for the migration tests."""

from __future__ import annotations

import pytest

from tests.kernel.schema import migrate, migrate_to_latest


@pytest.fixture
def schema_at(customer, staff_user):
    """``schema_at(BEFORE)``: the historical apps at those migrations; the latest schema comes back after."""
    yield migrate
    migrate_to_latest()
