"""Billing periods: where one period ends and the next begins (UTC, calendar months).

A monthly period ends on the same day-of-month one month later, clamped to
the month's last day (31 Jan → 28/29 Feb); a yearly one a year later
(29 Feb → 28 Feb). The end of one period is exactly the start of the next.
"""

from __future__ import annotations

import calendar
from datetime import datetime


def add_months(moment: datetime, months: int, *, anchor_day: int | None = None) -> datetime:
    """``moment`` plus whole months, on ``anchor_day`` (default: the same day), clamped to the month's end."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(anchor_day or moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def period_end(*, start: datetime, interval: str, anchor_day: int | None = None) -> datetime:
    """End of the period starting at ``start``.

    ``anchor_day`` is the day of month the membership renews on. Without it a
    period starting on 28 Feb (after a 31 Jan start was clamped) would renew on
    the 28th for ever; with it the next renewal is back on the 31st (or the
    month's last day).
    """
    if interval == "monthly":
        return add_months(start, 1, anchor_day=anchor_day)
    if interval == "yearly":
        return add_months(start, 12, anchor_day=anchor_day)
    raise ValueError(f"unknown billing interval {interval!r}")
