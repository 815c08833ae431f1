"""Every CSV export by name, for ``manage.py export <kind>``; each is its app's streamed export function
(``<app>/exports.py``, re-exported by its selectors), the same one its admin's *Export CSV* uses."""

from __future__ import annotations

from collections.abc import Callable

from flowmart.csv_export import CsvExport
from flowmart.users import selectors as user_selectors
from orders import selectors as order_selectors
from payments import selectors as payment_selectors
from shipping import selectors as shipping_selectors
from subscriptions import selectors as subscription_selectors

EXPORTS: dict[str, Callable[[], CsvExport]] = {
    "orders": lambda: order_selectors.orders_export(),
    "payments": lambda: payment_selectors.payments_export(),
    "refunds": lambda: payment_selectors.refunds_export(),
    "invoices": lambda: subscription_selectors.invoices_export(),
    "returns": lambda: shipping_selectors.returns_export(),
    "customers": lambda: user_selectors.customers_export(),
}
