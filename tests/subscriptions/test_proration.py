from datetime import UTC, datetime

import pytest

from subscriptions.invoice_numbers import format_invoice_number
from subscriptions.periods import period_end
from subscriptions.proration import prorate

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 31, tzinfo=UTC)  # 30 days


def test_upgrade_half_way_charges_the_exact_difference_for_the_rest_of_the_period():
    p = prorate(
        old_price_minor=999,
        new_price_minor=1999,
        period_start=START,
        period_end=END,
        at=datetime(2026, 3, 16, tzinfo=UTC),
        same_interval=True,
    )
    assert (p.credit_minor, p.charge_minor, p.net_minor) == (499, 999, 500)
    assert (p.period_start, p.period_end, p.resets_period) == (START, END, False)


def test_downgrade_gives_a_credit_rounded_down():
    p = prorate(
        old_price_minor=1999,
        new_price_minor=499,
        period_start=START,
        period_end=END,
        at=datetime(2026, 3, 21, tzinfo=UTC),  # 10 of 30 days left
        same_interval=True,
    )
    assert (p.credit_minor, p.charge_minor, p.net_minor) == (666, 166, -500)


def test_interval_change_restarts_the_period_at_full_price():
    at = datetime(2026, 3, 11, tzinfo=UTC)  # 20 of 30 days left
    p = prorate(
        old_price_minor=999,
        new_price_minor=9900,
        period_start=START,
        period_end=END,
        at=at,
        same_interval=False,
        new_period_end=period_end(start=at, interval="yearly"),
    )
    assert (p.credit_minor, p.charge_minor, p.net_minor) == (666, 9900, 9234)
    assert (p.period_start, p.period_end) == (at, datetime(2027, 3, 11, tzinfo=UTC))


def test_change_at_or_after_the_period_end_has_nothing_to_prorate():
    p = prorate(
        old_price_minor=999, new_price_minor=1999, period_start=START, period_end=END, at=END, same_interval=True
    )
    assert (p.credit_minor, p.charge_minor) == (0, 0)


@pytest.mark.parametrize(
    ("start", "interval", "end"),
    [
        (datetime(2026, 1, 31, 9, tzinfo=UTC), "monthly", datetime(2026, 2, 28, 9, tzinfo=UTC)),
        (datetime(2026, 12, 15, tzinfo=UTC), "monthly", datetime(2027, 1, 15, tzinfo=UTC)),
        (datetime(2028, 2, 29, tzinfo=UTC), "yearly", datetime(2029, 2, 28, tzinfo=UTC)),
    ],
)
def test_period_ends(start, interval, end):
    assert period_end(start=start, interval=interval) == end


def test_invoice_number_format():
    assert format_invoice_number(year=2026, value=123) == "INV-2026-000123"
    assert format_invoice_number(year=2026, value=1234567) == "INV-2026-1234567"
