"""Proration for plan changes: exact integer arithmetic in minor units.

The rule (documented for customers and staff alike):

* Time is counted in whole seconds. For the current period ``[start, end)``
  changed at moment ``at``: ``total = end - start``, ``remaining = end - at``
  (clamped to ``0..total``).
* **Credit** for the unused part of the old plan:
  ``old_price * remaining // total`` (rounded down to the minor unit).
* **Same billing interval**: the period is kept and the new plan costs
  ``new_price * remaining // total`` for the rest of it (rounded down).
* **Different interval** (monthly ⇄ yearly): the period restarts at ``at`` and
  the new plan costs its full price.
* ``net = charge - credit``. Positive: charged at once on a *plan change*
  invoice (existing account credit is used first). Negative: added to the
  subscription's account credit, which is taken off the next invoices. A trial
  has nothing to prorate: the plan is just switched.

Rounding both parts down means the customer is never charged more than the
exact pro-rata difference, and at most one minor unit less.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Proration:
    credit_minor: int
    charge_minor: int
    period_start: datetime
    period_end: datetime
    resets_period: bool

    @property
    def net_minor(self) -> int:
        return self.charge_minor - self.credit_minor


def _seconds(delta) -> int:
    return delta.days * 86400 + delta.seconds


def prorate(
    *,
    old_price_minor: int,
    new_price_minor: int,
    period_start: datetime,
    period_end: datetime,
    at: datetime,
    same_interval: bool,
    new_period_end: datetime | None = None,
) -> Proration:
    """``new_period_end`` is where a restarted period would end (needed when the interval changes)."""
    total = _seconds(period_end - period_start)
    if total <= 0:
        raise ValueError("a billing period must have a positive length")
    remaining = min(max(_seconds(period_end - at), 0), total)
    credit = old_price_minor * remaining // total
    if same_interval:
        return Proration(credit, new_price_minor * remaining // total, period_start, period_end, False)
    if new_period_end is None:
        raise ValueError("new_period_end is required when the billing interval changes")
    return Proration(credit, new_price_minor, at, new_period_end, True)
