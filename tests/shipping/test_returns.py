"""Returns and exchanges: request within the window, approve/reject, receive, refund or exchange."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction

from flowmart.errors import InvalidTransition
from flowmart.events.models import OutboxEvent
from flowmart.events.publisher import publish
from flowmart.events.testing import deliver_pending
from shipping import services
from shipping.models import ReturnRequest, Shipment
from shipping.tasks import poll_tracking_task
from tests.shipping.factories import order_confirmed, order_line

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
STEP = timedelta(hours=1)
LINES = [
    order_line("TEE-M-BLUE", quantity=2, unit_price_minor=2500),
    order_line("MUG", quantity=1, unit_price_minor=1200, weight_grams=400),
]


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def deliver_order(clock, user, order_number="FM-TEST0001", lines=LINES):
    with transaction.atomic():
        publish(order_confirmed(order_number, user=user, lines=lines))
    deliver_pending()
    poll_tracking_task()
    clock.shift(STEP * 3)
    poll_tracking_task()
    deliver_pending()
    assert Shipment.objects.get(order_number=order_number).status == "delivered"


def payload(name):
    [row] = OutboxEvent.objects.filter(name=name)
    return row.payload


def ask(client, lines=None, reason="Too small", number="FM-TEST0001", **headers):
    return client.post(
        f"/api/v1/orders/{number}/returns/",
        {"reason": reason, "lines": lines or [{"sku": "TEE-M-BLUE", "quantity": 1}]},
        format="json",
        **headers,
    )


def test_customer_asks_for_a_return_of_delivered_items(customer_client, rates, customer, clock):
    deliver_order(clock, customer)

    response = ask(customer_client)

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "requested"
    assert body["rma_number"].startswith("RMA-")
    assert body["lines"] == [
        {
            "sku": "TEE-M-BLUE",
            "name": "Product TEE-M-BLUE",
            "quantity": 1,
            "unit_price_minor": 2500,
            "charged_minor": 2500,
            "condition": "",
            "refundable": True,
            "not_refundable_reason": "",
            "refund_minor": 0,
            "replacement_sku": "",
        }
    ]
    assert payload("ReturnInitiated") == {
        "order_number": "FM-TEST0001",
        "user_id": str(customer.public_id),
        "customer_email": "casey@example.com",
        "rma_number": body["rma_number"],
        "reason": "Too small",
        "lines": [
            {
                "sku": "TEE-M-BLUE",
                "name": "Product TEE-M-BLUE",
                "quantity": 1,
                "unit_price_minor": 2500,
                "charged_minor": 2500,
            }
        ],
        "currency": "USD",
    }
    listing = customer_client.get("/api/v1/returns/").json()
    assert [r["rma_number"] for r in listing["results"]] == [body["rma_number"]]


def test_return_request_is_idempotent_with_a_key(customer_client, rates, customer, clock):
    deliver_order(clock, customer)

    first = ask(customer_client, HTTP_IDEMPOTENCY_KEY="k1")
    again = ask(customer_client, HTTP_IDEMPOTENCY_KEY="k1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert ReturnRequest.objects.count() == 1


def test_cannot_return_more_than_delivered(customer_client, rates, customer, clock):
    deliver_order(clock, customer)
    assert ask(customer_client, [{"sku": "TEE-M-BLUE", "quantity": 2}]).status_code == 201

    response = ask(customer_client, [{"sku": "TEE-M-BLUE", "quantity": 1}])

    assert response.status_code == 400
    assert response.json()["code"] == "return_quantity_exceeded"
    assert response.json()["detail"] == "You can return at most 0 of TEE-M-BLUE."


def test_return_window_closes(customer_client, rates, customer, clock):
    deliver_order(clock, customer)
    clock.shift(timedelta(days=31))

    response = ask(customer_client)

    assert response.status_code == 400
    assert response.json()["code"] == "return_window_closed"
    assert response.json()["detail"] == "The 30-day return window of this order has closed."


def test_cannot_return_before_delivery(customer_client, rates, customer, clock):
    with transaction.atomic():
        publish(order_confirmed(user=customer))
    deliver_pending()

    response = ask(customer_client)

    assert response.status_code == 400
    assert response.json()["code"] == "not_delivered"


def test_someone_elses_order_is_404(api_client, rates, customer, other_customer, clock):
    deliver_order(clock, customer)
    api_client.force_authenticate(other_customer)

    assert ask(api_client).status_code == 404
    assert api_client.get("/api/v1/returns/").json()["results"] == []


def test_bad_return_input_is_400(customer_client, rates, customer, clock):
    deliver_order(clock, customer)

    response = customer_client.post("/api/v1/orders/FM-TEST0001/returns/", {"lines": []}, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"reason", "lines.non_field_errors"}


def request_return(customer, lines=None):
    return services.return_request(
        order_number="FM-TEST0001",
        user_id=str(customer.public_id),
        lines=lines or [{"sku": "TEE-M-BLUE", "quantity": 2}, {"sku": "MUG", "quantity": 1}],
        reason="Damaged",
    )


def test_refund_path_end_to_end(rates, customer, staff_user, clock):
    deliver_order(clock, customer)
    rma = request_return(customer)

    rma = services.return_approve(rma_number=rma.rma_number, by=staff_user)
    assert rma.status == "approved"
    assert rma.return_tracking_number.startswith("SBX-R-")
    assert payload("ReturnApproved")["return_tracking_number"] == rma.return_tracking_number

    rma = services.return_receive(rma_number=rma.rma_number, decision="refund", note="Box crushed", by=staff_user)
    assert rma.status == "received"
    received = payload("ReturnReceived")
    assert received["decision"] == "refund"
    # The whole order came back: the goods as charged and the shipping charge (docs/orders.md §Returns and exchanges).
    assert (received["goods_refund_minor"], received["shipping_refund_minor"]) == (2 * 2500 + 1200, 499)
    assert received["refund_minor"] == 2 * 2500 + 1200 + 499
    assert received["replacement_skus"] == []
    assert received["warehouse_code"] == "east"
    assert [(li["sku"], li["quantity"]) for li in received["lines"]] == [("TEE-M-BLUE", 2), ("MUG", 1)]

    rma = services.return_mark_refunded(rma_number=rma.rma_number)
    assert rma.status == "refunded"
    assert services.return_mark_refunded(rma_number=rma.rma_number).status == "refunded"  # idempotent
    log = [(t.from_state, t.to_state, t.actor) for t in rma.transitions.all()]
    assert log == [
        ("", "requested", "customer"),
        ("requested", "approved", "staff"),
        ("approved", "received", "staff"),
        ("received", "refunded", "system"),
    ]


def test_exchange_path_ships_a_replacement(rates, customer, staff_user, clock):
    deliver_order(clock, customer)
    rma = request_return(customer, [{"sku": "TEE-M-BLUE", "quantity": 1}])
    services.return_approve(rma_number=rma.rma_number, by=staff_user)

    services.return_receive(
        rma_number=rma.rma_number, decision="exchange", replacement_skus={"TEE-M-BLUE": "TEE-L-BLUE"}
    )
    received = payload("ReturnReceived")
    assert received["decision"] == "exchange"
    assert received["refund_minor"] == 0
    assert received["replacement_skus"] == ["TEE-L-BLUE"]
    assert received["lines"][0]["replacement_sku"] == "TEE-L-BLUE"

    replacement = services.shipment_create_for_exchange(
        order_number="FM-TEST0001",
        rma_number=rma.rma_number,
        lines=[{"sku": "TEE-L-BLUE", "name": "Tee L Blue", "quantity": 1, "weight_grams": 200}],
        warehouse_code="west",
    )
    assert replacement.kind == "exchange"
    assert replacement.address["city"] == "Springfield"
    poll_tracking_task()
    created = OutboxEvent.objects.filter(name="ShipmentCreated", payload__kind="exchange").get()
    assert created.payload["rma_number"] == rma.rma_number
    assert created.payload["lines"] == [{"sku": "TEE-L-BLUE", "name": "Tee L Blue", "quantity": 1}]

    assert services.return_mark_exchanged(rma_number=rma.rma_number).status == "exchanged"


def test_rejected_return_frees_the_items_again(rates, customer, staff_user, clock):
    deliver_order(clock, customer)
    rma = request_return(customer)

    rma = services.return_reject(rma_number=rma.rma_number, reason="Worn", by=staff_user)

    assert rma.status == "rejected"
    assert payload("ReturnRejected")["reason"] == "Worn"
    assert request_return(customer).status == "requested"


def test_refund_cannot_be_marked_on_an_exchange(rates, customer, clock):
    deliver_order(clock, customer)
    rma = request_return(customer)
    services.return_approve(rma_number=rma.rma_number)
    services.return_receive(rma_number=rma.rma_number, decision="exchange")

    with pytest.raises(InvalidTransition):
        services.return_mark_refunded(rma_number=rma.rma_number)


def test_cannot_receive_a_return_that_was_not_approved(rates, customer, clock):
    deliver_order(clock, customer)
    rma = request_return(customer)

    with pytest.raises(InvalidTransition) as exc:
        services.return_receive(rma_number=rma.rma_number, decision="refund")

    assert exc.value.detail == f"Return {rma.rma_number} cannot be received while requested."


def test_replacement_needs_an_exchange_decision(rates, customer, clock):
    deliver_order(clock, customer)
    rma = request_return(customer)
    services.return_approve(rma_number=rma.rma_number)
    services.return_receive(rma_number=rma.rma_number, decision="refund")

    with pytest.raises(services.ExchangeNotAllowed) as exc:
        services.shipment_create_for_exchange(
            order_number="FM-TEST0001", rma_number=rma.rma_number, lines=[], warehouse_code="east"
        )

    assert exc.value.status == 409
    assert exc.value.detail == f"Return {rma.rma_number} was not decided as an exchange."


def test_return_window_counts_from_delivery(customer_client, rates, customer, clock):
    deliver_order(clock, customer)
    clock.shift(timedelta(days=30) - STEP)

    assert ask(customer_client).status_code == 201
