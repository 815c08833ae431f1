"""Kernel pieces of the reports' aggregate SQL (the figures themselves are each app's selectors, composed
by the ``reports`` app): the date range a report covers, the period its rows are grouped by, the hours
between two timestamps and PostgreSQL's ``percentile_cont``, which Django does not ship."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Aggregate, DurationField, ExpressionWrapper, F, FloatField, Func
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek

PERIODS = ("day", "week", "month")
_TRUNC = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}


@dataclass(frozen=True)
class DateRange:
    """The days ``since`` to ``until``, both included, in the shop's time zone (``TIME_ZONE``)."""

    since: dt.date
    until: dt.date

    def __post_init__(self):
        if self.until < self.since:
            raise ValueError("until is before since")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(settings.TIME_ZONE)

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.since, dt.time.min, tzinfo=self.zone)

    @property
    def end(self) -> dt.datetime:
        """Exclusive: midnight after ``until``."""
        return dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time.min, tzinfo=self.zone)

    def lookup(self, field: str) -> dict:
        """``filter(**range.lookup("placed_at"))``: the rows whose ``field`` falls in the range."""
        return {f"{field}__gte": self.start, f"{field}__lt": self.end}

    @classmethod
    def last_days(cls, days: int, *, today: dt.date | None = None) -> DateRange:
        from django.utils import timezone

        today = today or timezone.localdate()
        return cls(since=today - dt.timedelta(days=days - 1), until=today)


def period_start(field: str, period: str):
    """The expression that truncates ``field`` to the start of its day, week (Monday) or month, in the shop's
    time zone, as a date."""
    if period not in _TRUNC:
        raise ValueError(f"period must be one of {PERIODS}")
    from django.db.models import DateField

    return _TRUNC[period](field, tzinfo=ZoneInfo(settings.TIME_ZONE), output_field=DateField())


class HoursBetween(Func):
    """Hours from the timestamp field ``start`` to ``end`` as a double: ``date_part('epoch', end - start) / 3600``
    (NULL when either is). Not Django's ``Extract(…, "epoch")``: ``EXTRACT`` returns ``numeric`` since
    PostgreSQL 14, and numeric arithmetic on every row made the processing-time percentiles over 100,000
    orders a third slower (docs/performance.md §Reports)."""

    template = "date_part('epoch', %(expressions)s) / 3600"
    output_field = FloatField()

    def __init__(self, start: str, end: str, **extra):
        super().__init__(ExpressionWrapper(F(end) - F(start), output_field=DurationField()), **extra)


class PercentileCont(Aggregate):
    """``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)``: the interpolated percentile of a
    numeric expression (``PercentileCont(F("hours"), fraction=0.9)``); NULLs are left out."""

    function = "percentile_cont"
    name = "PercentileCont"
    output_field = FloatField()
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, *, fraction: float, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        super().__init__(expression, fraction=float(fraction), **extra)
