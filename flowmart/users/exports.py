"""Customers as CSV (``manage.py export customers``, Admin → Users → *Export CSV*). Streamed: one query through
a server-side cursor. Without a queryset: customers only (staff accounts left out)."""

from __future__ import annotations

from django.db.models import QuerySet

from flowmart.csv_export import CHUNK_SIZE, CsvExport, time_cell
from flowmart.users.models import User


def customers_export(*, users: QuerySet[User] | None = None) -> CsvExport:
    qs = User.objects.filter(is_staff=False) if users is None else users
    rows = qs.order_by("date_joined", "id").values_list(
        "public_id", "email", "full_name", "phone", "time_zone", "is_active", "date_joined", "last_login"
    )

    def generate():
        for public_id, email, name, phone, zone, active, joined, last_login in rows.iterator(chunk_size=CHUNK_SIZE):
            yield [
                str(public_id),
                email,
                name,
                phone,
                zone,
                "yes" if active else "no",
                time_cell(joined),
                time_cell(last_login),
            ]

    header = ["customer", "email", "full_name", "phone", "time_zone", "active", "joined_at", "last_login_at"]
    return CsvExport(header=header, rows=generate())
