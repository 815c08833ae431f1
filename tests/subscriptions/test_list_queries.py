"""A member's invoice list costs the same number of queries for 1 invoice as for 4."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from subscriptions.billing import billing_run
from subscriptions.services import subscription_subscribe

pytestmark = pytest.mark.django_db


def test_invoice_list_does_not_grow_with_invoices(customer, customer_client, client, monthly, count_queries):
    client.force_login(customer)
    with time_machine.travel(datetime(2026, 1, 10, 9, tzinfo=UTC), tick=False):
        subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    one_api = count_queries(lambda: customer_client.get("/api/v1/invoices/"))
    one_page = count_queries(lambda: client.get("/membership/manage/"))

    for month in (2, 3, 4):
        with time_machine.travel(datetime(2026, month, 10, 9, 5, tzinfo=UTC), tick=False):
            billing_run()
    assert customer_client.get("/api/v1/invoices/").json()["count"] == 4
    assert count_queries(lambda: customer_client.get("/api/v1/invoices/")) == one_api
    assert count_queries(lambda: client.get("/membership/manage/")) == one_page
