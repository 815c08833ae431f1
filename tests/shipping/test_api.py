"""Shipping API: quotes, public tracking, a customer's shipments, the signed carrier webhook."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction

from flowmart.events.models import OutboxEvent
from flowmart.events.publisher import publish
from flowmart.events.testing import deliver_pending
from shipping.models import Shipment, TrackingEvent
from shipping.tasks import poll_tracking_task
from shipping.webhooks import webhook_sign
from tests.shipping.factories import order_confirmed

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def ship_order(user, order_number="FM-TEST0001", **kw) -> Shipment:
    with transaction.atomic():
        publish(order_confirmed(order_number, user=user, **kw))
    deliver_pending()
    poll_tracking_task()
    return Shipment.objects.get(order_number=order_number)


# --- quotes -----------------------------------------------------------------------------


def test_shipping_methods_quotes_for_a_destination(api_client, rates):
    response = api_client.get(
        "/api/v1/shipping-methods/",
        {"country": "us", "postal_code": "62701", "weight_grams": 1500, "subtotal_minor": 2500, "currency": "USD"},
    )

    assert response.status_code == 200
    assert response.json() == {
        "country": "US",
        "currency": "USD",
        "weight_grams": 1500,
        "subtotal_minor": 2500,
        "methods": [
            {
                "code": "standard",
                "name": "Standard",
                "price_minor": 899,
                "currency": "USD",
                "min_days": 3,
                "max_days": 5,
            },
            {
                "code": "express",
                "name": "Express",
                "price_minor": 1999,
                "currency": "USD",
                "min_days": 1,
                "max_days": 2,
            },
            {
                "code": "pickup",
                "name": "Pick up in store",
                "price_minor": 0,
                "currency": "USD",
                "min_days": 0,
                "max_days": 1,
            },
        ],
    }


def test_shipping_methods_bad_input_is_a_problem_not_a_500(api_client, rates):
    response = api_client.get("/api/v1/shipping-methods/", {"country": "USA", "weight_grams": "heavy"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert set(body["errors"]) == {"country", "weight_grams"}


def test_shipping_methods_for_unserved_country_is_empty(api_client, rates):
    response = api_client.get("/api/v1/shipping-methods/", {"country": "KP", "subtotal_minor": 100})

    assert response.status_code == 200
    assert response.json()["methods"] == []


# --- tracking and shipments ---------------------------------------------------------------


@time_machine.travel(START, tick=False)
def test_public_tracking_shows_city_and_history_but_no_personal_data(api_client, rates, customer):
    shipment = ship_order(customer)

    response = api_client.get(f"/api/v1/tracking/{shipment.tracking_number}/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "label_created"
    assert body["destination_city"] == "Springfield"
    assert body["destination_country"] == "US"
    assert [h["description"] for h in body["history"]] == ["Label created: waiting for the carrier"]
    text = json.dumps(body)
    for private in ("Casey", "12 Main Street", "62701", "+1555", "casey@example.com", "FM-TEST0001"):
        assert private not in text


def test_tracking_unknown_number_is_404(api_client, db):
    response = api_client.get("/api/v1/tracking/SBX-N-0-XXXX/")

    assert response.status_code == 404
    assert response.json()["status"] == 404


@time_machine.travel(START, tick=False)
def test_customer_sees_the_shipments_of_their_order(customer_client, rates, customer):
    shipment = ship_order(customer)

    response = customer_client.get("/api/v1/orders/FM-TEST0001/shipments/")

    assert response.status_code == 200
    [body] = response.json()
    assert body["number"] == shipment.number
    assert body["status"] == "label_created"
    assert body["tracking_number"] == shipment.tracking_number
    assert body["tracking_url"] == f"http://127.0.0.1:8000/tracking/{shipment.tracking_number}/"
    assert body["lines"] == [{"sku": "TEE-M-BLUE", "name": "Product TEE-M-BLUE", "quantity": 1}]


def test_other_customers_and_anonymous_cannot_see_the_shipments(api_client, rates, customer, other_customer):
    ship_order(customer)
    api_client.force_authenticate(other_customer)

    assert api_client.get("/api/v1/orders/FM-TEST0001/shipments/").status_code == 404
    api_client.force_authenticate(None)
    assert api_client.get("/api/v1/orders/FM-TEST0001/shipments/").status_code in (401, 403)


# --- webhook ---------------------------------------------------------------------------------


def post_webhook(client, events, *, timestamp=None, secret=None, signature=None):
    body = json.dumps({"events": events}).encode()
    ts = int(timestamp if timestamp is not None else time.time())
    sig = signature or webhook_sign(body=body, timestamp=ts, secret=secret)
    return client.post(
        "/api/v1/shipping/webhooks/sandbox/",
        data=body,
        content_type="application/json",
        HTTP_X_CARRIER_TIMESTAMP=str(ts),
        HTTP_X_CARRIER_SIGNATURE=sig,
    )


def update(shipment, sequence, code, description="", location="Hub"):
    return {
        "event_id": f"evt-{shipment.tracking_number}-{sequence}",
        "tracking_number": shipment.tracking_number,
        "sequence": sequence,
        "code": code,
        "description": description or code,
        "location": location,
        "occurred_at": (datetime.now(tz=UTC) - timedelta(minutes=10 - sequence)).isoformat(),
    }


@pytest.fixture
def shipped(rates, customer):
    return ship_order(customer)


def test_signed_webhook_moves_the_shipment_and_publishes(api_client, shipped):
    response = post_webhook(api_client, [update(shipped, 1, "picked_up"), update(shipped, 2, "in_transit")])

    assert response.status_code == 200
    assert response.json() == {"carrier": "sandbox", "applied": 2, "unknown_tracking_numbers": []}
    assert Shipment.objects.get().status == "in_transit"
    names = set(OutboxEvent.objects.values_list("name", flat=True))
    assert {"ShipmentDispatched", "ShipmentInTransit"} <= names
    assert TrackingEvent.objects.filter(source="webhook").count() == 2


def test_replayed_webhook_is_applied_once(api_client, shipped):
    events = [update(shipped, 1, "picked_up")]
    assert post_webhook(api_client, events).json()["applied"] == 1

    replay = post_webhook(api_client, events)

    assert replay.status_code == 200
    assert replay.json()["applied"] == 0
    assert OutboxEvent.objects.filter(name="ShipmentDispatched").count() == 1
    assert TrackingEvent.objects.count() == 1


def test_out_of_order_updates_wait_for_the_gap(api_client, shipped):
    assert post_webhook(api_client, [update(shipped, 2, "in_transit")]).json()["applied"] == 0
    assert Shipment.objects.get().status == "label_created"

    response = post_webhook(api_client, [update(shipped, 1, "picked_up")])

    assert response.json()["applied"] == 2
    assert [t.to_state for t in Shipment.objects.get().transitions.all()] == [
        "label_created",
        "dispatched",
        "in_transit",
    ]


def test_webhook_with_a_bad_signature_is_refused(api_client, shipped):
    response = post_webhook(api_client, [update(shipped, 1, "picked_up")], secret="wrong")

    assert response.status_code == 401
    assert response.json()["code"] == "webhook_signature_invalid"
    assert response.json()["detail"] == "The webhook signature does not match."
    assert Shipment.objects.get().status == "label_created"


def test_webhook_with_a_stale_timestamp_is_refused(api_client, shipped):
    response = post_webhook(api_client, [update(shipped, 1, "picked_up")], timestamp=time.time() - 301)

    assert response.status_code == 401
    assert response.json()["detail"] == "The webhook timestamp is outside the accepted window."


def test_webhook_without_headers_is_refused(api_client, shipped):
    response = api_client.post("/api/v1/shipping/webhooks/sandbox/", data={"events": []}, format="json")

    assert response.status_code == 401


def test_webhook_with_a_malformed_body_is_400(api_client, shipped):
    response = post_webhook(api_client, [{"tracking_number": shipped.tracking_number, "code": "teleported"}])

    assert response.status_code == 400
    assert response.json()["code"] == "webhook_payload_invalid"


def test_webhook_for_unknown_parcel_is_acknowledged(api_client, shipped):
    event = update(shipped, 1, "picked_up") | {"tracking_number": "SBX-N-1-ZZZZ", "event_id": "x"}
    response = post_webhook(api_client, [event])

    assert response.status_code == 200
    assert response.json()["unknown_tracking_numbers"] == ["SBX-N-1-ZZZZ"]


def test_schema_stays_valid(api_client, db):
    response = api_client.get("/api/schema/")

    assert response.status_code == 200
    assert b"/api/v1/tracking/{number}/" in response.content
    assert b"/api/v1/orders/{number}/returns/" in response.content
