"""Invoice numbers: ``INV-<year>-<six or more digits>``, e.g. ``INV-2026-000123``.

The digits come from one PostgreSQL sequence (created in migration 0001), so
numbers are unique without a lock and never reused; a rolled-back
transaction leaves a gap, which is acceptable (gap-tolerant numbering). The
year is the year the invoice is issued (UTC).
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.utils import timezone

SEQUENCE = "subscriptions_invoice_number_seq"


def format_invoice_number(*, year: int, value: int) -> str:
    return f"INV-{year}-{value:06d}"


def invoice_numbers_next(*, count: int = 1, issued_at: datetime | None = None) -> list[str]:
    """``count`` fresh numbers in one round trip."""
    if count <= 0:
        return []
    year = (issued_at or timezone.now()).year
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT nextval('{SEQUENCE}') FROM generate_series(1, %s)", [count])  # noqa: S608
        return [format_invoice_number(year=year, value=row[0]) for row in cursor.fetchall()]
