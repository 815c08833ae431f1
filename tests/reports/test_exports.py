"""CSV exports: from the admin (the changelist's current filters) and ``manage.py export``; streamed, with a
query count that does not grow with the rows."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from payments.models import Payment, Refund
from shipping.models import ReturnLine, ReturnRequest, ShipmentLine
from subscriptions.models import Invoice
from tests.reports.conftest import at
from tests.subscriptions.factories import SubscriptionFactory
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

ORDER_HEADER = [
    "order", "placed_at", "status", "email", "customer_name", "currency", "subtotal", "discount", "shipping",
    "total", "captured", "refunded", "shipping_method", "country",
    "sku", "name", "variant", "quantity", "unit_price", "line_discount", "line_total",
]  # fmt: skip


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_admin_exports_the_orders_the_changelist_shows(admin_client, seeded_shop):
    b = seeded_shop["b"]
    response = admin_client.get("/admin/orders/order/export.csv", {"status__exact": "delivered"})
    assert response["Content-Disposition"].startswith('attachment; filename="orders-')
    assert _rows(response) == [
        ORDER_HEADER,
        [b.number, "2026-03-02T12:00:00+00:00", "delivered", "casey@example.com", "Casey Customer", "USD",
         "25.00", "0.00", "7.50", "32.50", "32.50", "12.50", "standard", "", "MUG", "MUG", "", "2", "12.50", "0.00", "25.00"],
    ]  # fmt: skip
    searched = _rows(admin_client.get("/admin/orders/order/export.csv", {"q": seeded_shop["a"].number}))
    assert [row[0] for row in searched[1:]] == [seeded_shop["a"].number]


def test_the_changelist_offers_the_export_with_its_filters(admin_client, seeded_shop):
    html = admin_client.get("/admin/orders/order/", {"status__exact": "delivered"}).content.decode()
    assert 'href="export.csv?status__exact=delivered" class="csv-export"' in html


def test_staff_without_view_permission_cannot_export(client, plain_staff, seeded_shop):
    client.force_login(plain_staff)
    assert client.get("/admin/orders/order/export.csv").status_code == 403


def test_export_queries_do_not_grow_with_the_rows(admin_client, seeded_shop, more_orders):
    def consume() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            rows = _rows(admin_client.get("/admin/orders/order/export.csv"))
        return len(ctx.captured_queries), len(rows)

    queries_before, rows_before = consume()
    more_orders()
    queries_after, rows_after = consume()
    assert (rows_before, rows_after) == (1 + 6, 1 + 6 + 10)  # header, 6 lines; then 5 orders × 2 lines more
    assert queries_after == queries_before


def test_the_rows_are_read_only_when_the_response_is_streamed(seeded_shop):
    from orders.selectors import orders_export

    with CaptureQueriesContext(connection) as ctx:
        export = orders_export()
        assert len(ctx.captured_queries) == 0
        rows = iter(export.rows)
        next(rows)
        rows.close()  # as Django does when a client goes away mid-download: the cursor is closed
    assert len(ctx.captured_queries) == 1  # one query, read in chunks from a server-side cursor


def test_manage_py_export_writes_each_kind(tmp_path, seeded_shop):
    customer = UserFactory(email="dana@example.com", full_name='=HYPERLINK("http://evil")')
    UserFactory(email="boss@example.com", is_staff=True)
    payment = Payment.objects.create(
        reference="order:FM-X", correlation_id="FM-X", status="captured", amount_minor=3250, captured_minor=3250,
        refunded_minor=1250, currency="USD", gateway="sandbox", payment_method="pm_card_visa", brand="visa",
        last4="4242", idempotency_key="k1",
    )  # fmt: skip
    Refund.objects.create(
        payment=payment, amount_minor=1250, currency="USD", reason="return", status="succeeded", idempotency_key="r1"
    )
    subscription = SubscriptionFactory(user=customer)
    Invoice.objects.create(
        number="INV-1", subscription=subscription, user=customer, status="paid", period_start=at(1), period_end=at(31),
        subtotal_minor=999, amount_minor=999, currency="USD", customer_email=customer.email, issued_at=at(1),
    )  # fmt: skip
    shipment_line = ShipmentLine.objects.create(
        shipment=_shipment(seeded_shop["b"].number),
        sku="MUG",
        name="Mug",
        quantity=2,
        unit_price_minor=1250,
    )
    rma = ReturnRequest.objects.create(
        order_number=seeded_shop["b"].number, warehouse_code="east", reason="chipped", status="refunded",
        refund_minor=1250, currency="USD", customer_email="casey@example.com", created_at=at(6),
    )  # fmt: skip
    ReturnLine.objects.create(
        return_request=rma, shipment_line=shipment_line, sku="MUG", name="Mug", quantity=1, unit_price_minor=1250
    )

    def export(kind) -> list[list[str]]:
        out = tmp_path / f"{kind}.csv"
        call_command("export", kind, "--out", str(out))
        return list(csv.reader(out.open(encoding="utf-8")))

    assert len(export("orders")) == 1 + 6
    payments = export("payments")
    assert payments[1][:2] + payments[1][3:8] == [
        str(payment.id),
        "order:FM-X",
        "captured",
        "USD",
        "32.50",
        "32.50",
        "12.50",
    ]
    assert payments[1][10:12] == ["visa", "4242"]
    assert export("refunds")[1][4:8] == ["succeeded", "USD", "12.50", "return"]
    assert export("invoices")[1][:3] == ["INV-1", "2026-03-01T00:00:00+00:00", "paid"]
    assert export("invoices")[1][9:12] == ["9.99", "0.00", "9.99"]
    returns = export("returns")
    assert returns[1][:2] == [rma.rma_number, seeded_shop["b"].number]
    assert returns[1][8:14] == ["12.50", "", "MUG", "Mug", "1", "12.50"]
    customers = export("customers")
    # Customers only (not boss@, who is staff); a name a spreadsheet would run as a formula is defused.
    assert [row[1:3] for row in customers[1:]] == [["dana@example.com", '\'=HYPERLINK("http://evil")']]


def _shipment(order_number):
    from shipping.models import Shipment

    return Shipment.objects.filter(order_number=order_number).first()
