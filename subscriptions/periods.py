"""Billing periods: where one period ends and the next begins (UTC, calendar months).

A monthly period ends on the same day-of-month one month later, clamped to
the month's last day (31 Jan → 28/29 Feb); a yearly one a year later
(29 Feb → 28 Feb). The end of one period is exactly the start of the next.
"""

from __future__ import annotations

import calendar
from datetime import datetime


def add_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def period_end(*, start: datetime, interval: str) -> datetime:
    if interval == "monthly":
        return add_months(start, 1)
    if interval == "yearly":
        return add_months(start, 12)
    raise ValueError(f"unknown billing interval {interval!r}")
