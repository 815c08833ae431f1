"""The EasyPost adapter, through EasyPost's official client, against a local stand-in for EasyPost's HTTP API.

A shipping method chooses EasyPost in its ``carrier`` field; everything else stays on the sandbox.
"""

from __future__ import annotations

import json
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from flowmart.events.models import OutboxEvent
from flowmart.events.publisher import publish
from flowmart.events.testing import deliver_pending
from shipping import services
from shipping.carriers import CarrierUnavailable, Parcel, get_carrier
from shipping.models import Shipment, ShippingMethod, TrackingEvent
from shipping.tasks import poll_tracking_task
from tests.shipping.easypost_standin import ORIGIN, WEBHOOK_SECRET
from tests.shipping.factories import ADDRESS, order_amended, order_confirmed, order_line

pytestmark = pytest.mark.django_db


@pytest.fixture
def express_on_easypost(rates, easypost):
    """US express is carried by EasyPost as USPS Priority; US standard stays on the sandbox."""
    ShippingMethod.objects.filter(zone__code="us", code="express").update(
        carrier="easypost", carrier_service="USPS/Priority"
    )


def ship(order_number="FM-TEST0001", *, method="express", address=None, lines=None) -> Shipment:
    with transaction.atomic():
        publish(order_confirmed(order_number, shipping_method=method, address=address, lines=lines))
    deliver_pending()
    return Shipment.objects.get(order_number=order_number)


def labelled(order_number="FM-TEST0001", **kwargs) -> Shipment:
    shipment = ship(order_number, **kwargs)
    services.shipment_create_label(shipment_number=shipment.number)
    shipment.refresh_from_db()
    return shipment


def events(name):
    return [row.payload for row in OutboxEvent.objects.filter(name=name).order_by("occurred_at", "event_id")]


# --- labels --------------------------------------------------------------------------------------


def test_the_label_is_bought_at_the_methods_service(express_on_easypost, easypost):
    shipment = labelled(lines=[order_line(quantity=2, weight_grams=500)])  # 1 kg = 35.3 oz

    [purchase] = easypost.purchases
    assert (purchase["reference"], purchase["rate"]["carrier"], purchase["rate"]["service"]) == (
        shipment.number,
        "USPS",
        "Priority",
    )
    assert purchase["rate"]["rate"] == "11.68"  # 8.15 + 0.10 × 35.3 oz
    bought = easypost.shipments[purchase["shipment"]]
    assert bought["parcel"] == {"weight": 35.3}
    assert bought["to_address"]["street1"] == ADDRESS["line1"] and bought["to_address"]["zip"] == "62701"
    assert bought["from_address"]["street1"] == ORIGIN["line1"]
    assert (shipment.status, shipment.carrier, shipment.label_id) == ("label_created", "easypost", bought["id"])
    assert shipment.tracking_number == bought["tracking_code"]
    assert shipment.label_url == bought["postage_label"]["label_url"]
    [created] = events("ShipmentCreated")
    assert (created["carrier"], created["tracking_number"]) == ("easypost", bought["tracking_code"])


def test_a_method_without_a_carrier_stays_on_the_sandbox(express_on_easypost, easypost):
    shipment = labelled(method="standard")

    assert shipment.carrier == "sandbox" and shipment.tracking_number.startswith("SBX-N-")
    assert easypost.requests == []


def test_a_refused_address_cancels_the_shipment_and_tells_the_saga(express_on_easypost, easypost):
    shipment = labelled(address={"line1": "1 Undeliverable Lane"})

    assert shipment.status == "cancelled"
    assert easypost.purchases == []
    [rejected] = events("ShipmentRejected")
    assert rejected["code"] == "label_refused"
    assert rejected["reason"] == (
        "EasyPost refused the address: Unable to verify address. (street1: Address not found)"
    )


@pytest.mark.parametrize(
    ("operation", "status", "error"),
    [
        ("create", 503, "EasyPost is not available (address, 503)."),
        ("buy", 500, "EasyPost is not available (label, 500)."),
        ("buy", 429, "EasyPost rate limit reached (label); retrying later."),
    ],
)
def test_service_down_or_rate_limited_leaves_the_parcel_pending_until_the_poll_retries(
    express_on_easypost, easypost, operation, status, error
):
    easypost.fail(operation, status)

    shipment = labelled()

    assert (shipment.status, shipment.label_error) == ("pending", error)
    assert easypost.purchases == []
    assert events("ShipmentRejected") == []

    poll_tracking_task()

    shipment.refresh_from_db()
    assert (shipment.status, shipment.label_error) == ("label_created", "")
    [purchase] = easypost.purchases
    assert shipment.tracking_number == easypost.shipments[purchase["shipment"]]["tracking_code"]
    # The retry reused the shipment created before the failure (found by reference): one shipment.
    assert len(easypost.shipments) == 1


def test_a_bought_label_whose_answer_was_lost_is_recovered_without_a_second_charge(express_on_easypost, easypost):
    easypost.drop_response_of.add("buy")  # EasyPost charges, then the connection drops

    shipment = labelled()
    assert shipment.status == "pending"
    assert easypost.charges_for(shipment.number) == 1

    poll_tracking_task()

    shipment.refresh_from_db()
    [purchase] = easypost.purchases
    assert shipment.status == "label_created"
    assert shipment.tracking_number == easypost.shipments[purchase["shipment"]]["tracking_code"]
    assert [r["operation"] for r in easypost.requests].count("buy") == 1


def test_buying_twice_with_the_same_reference_returns_the_first_label_without_a_second_charge(easypost):
    carrier = get_carrier("easypost")
    parcel = Parcel(reference="SHP-DUPLICATE", address=ADDRESS, weight_grams=400, service="UPS/Ground")

    first = carrier.create_label(parcel=parcel)
    second = carrier.create_label(parcel=parcel)

    assert second == first
    assert easypost.charges_for("SHP-DUPLICATE") == 1
    assert [r["operation"] for r in easypost.requests] == ["retrieve", "create", "buy", "retrieve"]


def test_buying_a_shipment_easypost_already_bought_answers_with_its_label(easypost):
    """EasyPost refuses to buy a shipment twice (``SHIPMENT.POSTAGE.EXISTS``): the label it has is ours."""
    carrier = get_carrier("easypost")
    parcel = Parcel(reference="SHP-RACED", address=ADDRESS, weight_grams=400)
    # An earlier attempt created the shipment and failed before buying…
    easypost.fail("buy", 503)
    with pytest.raises(CarrierUnavailable):
        carrier.create_label(parcel=parcel)
    [created] = easypost.shipments.values()
    # …and someone buys it between our lookup and our buy (e.g. staff in EasyPost's dashboard).
    easypost.before["buy"] = lambda: easypost._buy(created, created["rates"][0]["id"])

    label = carrier.create_label(parcel=parcel)

    assert label.tracking_number == created["tracking_code"]
    assert easypost.charges_for("SHP-RACED") == 1
    assert [r["operation"] for r in easypost.requests][-3:] == ["retrieve", "buy", "retrieve"]


@pytest.mark.django_db(transaction=True)
def test_two_workers_labelling_the_same_parcel_at_once_buy_one_label_and_keep_it(settings, easypost):
    from shipping.demo import seed_demo_shipping

    seed_demo_shipping()
    ShippingMethod.objects.filter(zone__code="us", code="express").update(carrier="easypost")
    shipment = ship()
    easypost.delay["create"] = 0.5  # widen the window in which both are talking to EasyPost
    barrier = threading.Barrier(2)
    errors = []

    def label():
        try:
            barrier.wait()
            services.shipment_create_label(shipment_number=shipment.number)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=label) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)

    assert errors == []
    shipment.refresh_from_db()
    [purchase] = easypost.purchases
    assert shipment.status == "label_created"
    assert shipment.tracking_number == easypost.shipments[purchase["shipment"]]["tracking_code"]
    assert easypost.refunds == []  # the label the shipment holds was not voided as "stale"
    assert [r["operation"] for r in easypost.requests].count("create") == 1


def test_a_new_address_voids_the_label_and_buys_a_new_one(
    express_on_easypost, easypost, django_capture_on_commit_callbacks
):
    shipment = labelled()
    first_label = shipment.label_id
    with transaction.atomic():
        publish(
            order_amended(
                total_minor=2999, address={"line1": "99 Elm Street"}, lines=[order_line()], changes=["address"]
            )
        )
    with django_capture_on_commit_callbacks(execute=True):  # the old label is voided after commit
        deliver_pending()
    shipment.refresh_from_db()
    assert shipment.status == "pending"
    assert easypost.refunds == [first_label]

    services.shipment_create_label(shipment_number=shipment.number)

    shipment.refresh_from_db()
    assert shipment.status == "label_created" and shipment.label_id != first_label
    assert [p["reference"] for p in easypost.purchases] == [shipment.number, f"{shipment.number}-R1"]
    assert easypost.shipments[shipment.label_id]["to_address"]["street1"] == "99 Elm Street"


# --- void ------------------------------------------------------------------------------------------


def test_cancelling_a_labelled_shipment_refunds_the_postage_once(express_on_easypost, easypost):
    shipment = labelled()
    services.shipment_cancel(shipment_number=shipment.number, reason="customer changed their mind")

    assert services.shipment_void_label(shipment_number=shipment.number) is True
    get_carrier("easypost").cancel(tracking_number=shipment.tracking_number, label_id=shipment.label_id)  # again

    shipment.refresh_from_db()
    assert shipment.label_cancelled_at is not None
    assert easypost.refunds == [shipment.label_id]
    assert easypost.shipments[shipment.label_id]["refund_status"] == "submitted"


# --- tracking ---------------------------------------------------------------------------------------


def test_tracking_by_polling_follows_the_parcel_to_delivery(express_on_easypost, easypost):
    shipment = labelled()
    code = shipment.tracking_number
    easypost.advance(code, "in_transit", "Arrived at USPS facility", city="Chicago")
    easypost.advance(code, "failure", "Delivery attempt failed: no access", city="Springfield")
    poll_tracking_task()
    deliver_pending()

    shipment.refresh_from_db()
    assert (shipment.status, shipment.failed_attempts) == ("delivery_failed", 1)
    [failed] = events("DeliveryFailed")
    assert (failed["reason"], failed["attempt"]) == ("Delivery attempt failed: no access", 1)

    easypost.advance(code, "out_for_delivery", "Out for delivery")
    easypost.advance(code, "delivered", "Delivered, front door")
    poll_tracking_task()

    shipment.refresh_from_db()
    assert shipment.status == "delivered"
    history = list(shipment.tracking_events.values_list("sequence", "code", "location", "source"))
    assert history == [
        (1, "in_transit", "Chicago, IL, US", "poll"),
        (2, "delivery_failed", "Springfield, IL, US", "poll"),
        (3, "out_for_delivery", "Springfield, IL, US", "poll"),
        (4, "delivered", "Springfield, IL, US", "poll"),
    ]


def post_event(client, body: bytes, headers: dict):
    return client.post(
        "/api/v1/shipping/webhooks/easypost/",
        data=body,
        content_type="application/json",
        **{"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()},
    )


def test_tracking_by_signed_webhook_is_applied_once_and_agrees_with_the_poll(api_client, express_on_easypost, easypost):
    shipment = labelled()
    code = shipment.tracking_number
    easypost.advance(code, "in_transit", "Departed USPS facility", city="Chicago")
    easypost.advance(code, "delivered", "Delivered")
    body, headers = easypost.webhook(code, secret=WEBHOOK_SECRET)

    response = post_event(api_client, body, headers)

    assert response.status_code == 200, response.json()
    assert response.json() == {"carrier": "easypost", "applied": 2, "unknown_tracking_numbers": []}
    shipment.refresh_from_db()
    assert shipment.status == "delivered"
    # A replayed delivery and a poll of the same history change nothing.
    assert post_event(api_client, body, headers).json()["applied"] == 0
    poll_tracking_task()
    assert TrackingEvent.objects.filter(shipment=shipment).count() == 2
    assert set(TrackingEvent.objects.values_list("source", flat=True)) == {"webhook"}


def test_webhooks_with_a_wrong_missing_or_unconfigured_signature_are_refused(
    api_client, settings, express_on_easypost, easypost
):
    shipment = labelled()
    easypost.advance(shipment.tracking_number, "delivered", "Delivered")
    body, headers = easypost.webhook(shipment.tracking_number, secret="not-our-secret")

    wrong = post_event(api_client, body, headers)
    missing = post_event(api_client, body, {})
    settings.EASYPOST_WEBHOOK_SECRET = ""
    body, headers = easypost.webhook(shipment.tracking_number, secret="")
    unconfigured = post_event(api_client, body, headers)

    assert [r.status_code for r in (wrong, missing, unconfigured)] == [401, 401, 401]
    assert {r.json()["code"] for r in (wrong, missing, unconfigured)} == {"webhook_signature_invalid"}
    shipment.refresh_from_db()
    assert shipment.status == "label_created"
    assert TrackingEvent.objects.count() == 0


def test_other_events_are_acknowledged_and_a_signed_malformed_body_is_a_400(api_client, easypost):
    from shipping.carriers.easypost_carrier import webhook_signature

    other = json.dumps({"id": "evt_1", "description": "batch.updated", "result": {"id": "batch_1"}}).encode()
    response = post_event(api_client, other, {"X-Hmac-Signature": webhook_signature(body=other, secret=WEBHOOK_SECRET)})
    assert response.status_code == 200
    assert response.json() == {"carrier": "easypost", "applied": 0, "unknown_tracking_numbers": []}

    broken = b"{not json"
    response = post_event(
        api_client, broken, {"X-Hmac-Signature": webhook_signature(body=broken, secret=WEBHOOK_SECRET)}
    )
    assert (response.status_code, response.json()["code"]) == (400, "webhook_payload_invalid")


# --- returns ------------------------------------------------------------------------------------------


def test_a_return_label_comes_from_the_carrier_that_delivered(customer, express_on_easypost, easypost):
    with transaction.atomic():
        publish(order_confirmed(user=customer, shipping_method="express"))
    deliver_pending()
    shipment = Shipment.objects.get()
    services.shipment_create_label(shipment_number=shipment.number)
    shipment.refresh_from_db()
    easypost.advance(shipment.tracking_number, "delivered", "Delivered")
    poll_tracking_task()

    rma = services.return_request(
        order_number="FM-TEST0001", user_id=customer.public_id, lines=[{"sku": "TEE-M-BLUE", "quantity": 1}], reason="x"
    )
    rma = services.return_approve(rma_number=rma.rma_number)

    assert rma.status == "approved"
    assert rma.return_carrier == "easypost"
    returned = easypost.shipments[rma.return_label_id]
    assert (returned["reference"], returned["is_return"]) == (rma.rma_number, True)
    assert rma.return_tracking_number == returned["tracking_code"]
    assert easypost.charges_for(rma.rma_number) == 1


# --- configuration ------------------------------------------------------------------------------------


def test_a_method_cannot_switch_to_easypost_until_its_secrets_are_set(rates, settings):
    settings.EASYPOST_API_KEY = ""
    method = ShippingMethod.objects.get(zone__code="us", code="express")
    method.carrier = "easypost"

    with pytest.raises(ValidationError) as exc:
        method.full_clean()

    assert exc.value.message_dict["carrier"] == [
        "Set EASYPOST_API_KEY, EASYPOST_WEBHOOK_SECRET, EASYPOST_FROM_ADDRESSES in the environment "
        "before a method uses this carrier."
    ]


def test_a_method_switches_to_easypost_in_the_admin_once_configured(client, staff_user, rates, easypost):
    method = ShippingMethod.objects.get(zone__code="us", code="express")
    client.force_login(staff_user)
    form = {
        "zone": method.zone_id,
        "code": "express",
        "name": "Express",
        "currency": "USD",
        "min_days": "1",
        "max_days": "2",
        "free_over_minor": "",
        "max_weight_grams": "20000",
        "perk_eligible": "on",
        "is_active": "on",
        "sort_order": "1",
        "carrier": "easypost",
        "carrier_service": "USPS/Priority",
        "live_rates": "on",
        "rates-TOTAL_FORMS": "0",
        "rates-INITIAL_FORMS": "0",
    }

    response = client.post(f"/admin/shipping/shippingmethod/{method.pk}/change/", form)

    assert response.status_code == 302, response.context["adminform"].form.errors
    method.refresh_from_db()
    assert (method.carrier, method.carrier_service, method.live_rates) == ("easypost", "USPS/Priority", True)
