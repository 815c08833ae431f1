"""The membership page shows what happened to the membership, in words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from subscriptions.billing import billing_run
from subscriptions.services import subscription_pause, subscription_subscribe

pytestmark = pytest.mark.django_db


def test_manage_page_lists_the_membership_history(client, customer, monthly):
    with time_machine.travel(datetime(2026, 1, 10, 9, tzinfo=UTC), tick=False):
        sub = subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    with time_machine.travel(datetime(2026, 2, 10, 9, 5, tzinfo=UTC), tick=False):
        billing_run()
    with time_machine.travel(datetime(2026, 2, 12, 9, tzinfo=UTC), tick=False):
        subscription_pause(subscription=sub, by=customer)

    client.force_login(customer)
    html = client.get("/membership/manage/").content.decode()
    history = html[html.index('id="history-heading"') :]
    joined = history.index("Joined FlowMart Plus: $9.99 charged")
    renewed = history.index("Renewed: $9.99 charged (invoice INV-2026-")
    paused = history.index("Paused")
    assert joined < renewed < paused
