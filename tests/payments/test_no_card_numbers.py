"""Nothing FlowMart stores, logs or publishes contains a card number, even when a client sends one."""

from __future__ import annotations

import json
import logging
import re

import pytest
from django.conf import settings
from django.db import connection

from payments import services, webhooks
from payments.gateways.sandbox import sign_payload
from payments.models import Payment
from tests.payments.factories import authorized_payment, captured_payment

pytestmark = pytest.mark.django_db

# 13-19 digits, optionally grouped by spaces or hyphens, standing on their own (not inside a hex digest or token).
_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])(?:\d[ -]?){12,18}\d(?![0-9A-Za-z])")
# The numbers this test itself tries to sneak in, looked for anywhere, separators removed.
SENT = ["4242424242424242", "4000002500003155"]


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def card_numbers_in(text: str) -> list[str]:
    found = []
    for match in _CANDIDATE.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            found.append(digits)
    compact = re.sub(r"[ -]", "", text)
    found.extend(pan for pan in SENT if pan in compact and pan not in found)
    return found


def every_row_in_the_database() -> str:
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names come from the catalog
            chunks.extend(f"{table}: {row!r}" for row in cursor.fetchall())
    return "\n".join(chunks)


def test_the_detector_finds_card_numbers():
    assert card_numbers_in("card 4242 4242 4242 4242 and 5555-5555-5555-4444, id 1234567890123") == [
        "4242424242424242",
        "5555555555554444",
    ]


def test_a_whole_payment_flow_leaves_no_card_number_anywhere(caplog, customer, customer_client, api_client):
    caplog.set_level(logging.DEBUG)

    # Clients that try to send card numbers are refused without the number being kept.
    response = customer_client.post("/api/v1/payment-methods/", {"token": "4242 4242 4242 4242"}, format="json")
    assert response.status_code == 400
    assert card_numbers_in(response.content.decode()) == []
    with pytest.raises(services.InvalidPaymentMethod):
        authorized_payment(payment_method="4000-0025-0000-3155")

    # A full life: saved card, decline, authorize, capture, refunds, a dispute via a signed webhook.
    customer_client.post("/api/v1/payment-methods/", {"token": "pm_card_visa"}, format="json")
    with pytest.raises(services.PaymentDeclined):
        authorized_payment(payment_method="pm_card_chargeDeclined", customer_user_id=customer.public_id)
    payment = captured_payment(amount_minor=60000, customer_user_id=customer.public_id, customer_email=customer.email)
    services.payment_refund(payment_id=payment.id, amount_minor=1000, reason="late", idempotency_key="pan-r1")
    services.payment_refund(payment_id=payment.id, amount_minor=55000, reason="big", idempotency_key="pan-r2")
    charge_id = Payment.objects.get(pk=payment.id).gateway_ref
    body = json.dumps(
        {
            "id": "evt_pan",
            "type": "charge.dispute.created",
            "data": {"object": {"id": "dp_pan", "payment_intent": charge_id, "amount": 100, "currency": "usd"}},
        }
    ).encode()
    api_client.post(
        "/api/v1/payments/webhooks/sandbox/",
        data=body,
        content_type="application/json",
        HTTP_SANDBOX_SIGNATURE=sign_payload(body, secret=settings.SANDBOX_WEBHOOK_SECRET),
    )
    webhooks.webhook_events_process_pending()
    customer_client.get("/api/v1/payments/")

    rows = every_row_in_the_database()
    assert card_numbers_in(rows) == [], [line[:300] for line in rows.splitlines() if card_numbers_in(line)]
    logged = caplog.text + "\n".join(str(r.msg) + repr(r.args) for r in caplog.records)
    assert "payment authorized" in logged
    assert card_numbers_in(logged) == []
