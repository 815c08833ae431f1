"""The staff's attention list is read through the partial index ``orders_order_attention`` (orders/models.py),
which holds only the orders that may need attention: a change to the selector that no longer implies the
index's condition would go back to reading every order, which only a shop with 100,000 orders would notice
(the owner's dashboard counts the list)."""

from __future__ import annotations

import pytest
from django.db import connection

from orders.selectors import orders_needing_attention

pytestmark = pytest.mark.django_db


def test_the_list_and_its_count_are_read_through_the_partial_index():
    with connection.cursor() as cursor:
        # On a table this small a sequential scan is cheapest; forbid it to see whether the index may be used.
        cursor.execute("SET LOCAL enable_seqscan = off")
    orders = orders_needing_attention()

    assert "orders_order_attention" in orders.values("id").explain()
    assert "orders_order_attention" in orders.order_by("placed_at")[:20].explain()
