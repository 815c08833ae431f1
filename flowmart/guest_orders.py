"""The orders a browser may open without an account: the guest's, kept in its session.

A guest sees an order it placed in this session, or one it opened with the order's signed link (orders'
``order_link_*``). Orders and shipping (a guest's return) ask the same list, so it lives in the kernel.
"""

from __future__ import annotations

SESSION_ORDERS_KEY = "orders.guest_orders"
REMEMBERED = 20  # the newest this many; older ones need the link again


def guest_order_numbers(session) -> list[str]:
    return list(session.get(SESSION_ORDERS_KEY, []))


def guest_order_remember(session, number: str) -> None:
    known = [n for n in guest_order_numbers(session) if n != number]
    session[SESSION_ORDERS_KEY] = [*known, number][-REMEMBERED:]
