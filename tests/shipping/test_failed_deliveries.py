"""Failed deliveries on the sandbox carrier: the new estimate, the customer's choice the carrier then follows,
the shop's own estimate when the carrier gives none, and the shop giving up after the allowed attempts."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import transaction

from flowmart.events.models import OutboxEvent
from flowmart.events.publisher import publish
from flowmart.events.testing import deliver_pending
from shipping import carriers
from shipping import services as shipping_services
from shipping.carriers import CarrierUnavailable
from shipping.carriers.sandbox import SandboxCarrier
from shipping.models import DeliveryFailure, Shipment
from shipping.redelivery import shop_estimate
from shipping.selectors import shipments_for_order
from shipping.tasks import poll_tracking_task
from shipping.webhooks import webhook_sign
from tests.shipping.factories import order_confirmed

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
STEP = timedelta(hours=1)  # SHIPPING_SANDBOX_STEP_SECONDS under test
URL = "/api/v1/orders/FM-TEST0001/shipments/{}/delivery-choice/"


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def events_named(name):
    return list(OutboxEvent.objects.filter(name=name, correlation_id="FM-TEST0001").order_by("occurred_at"))


def ship(customer, clock, *, address_line2: str, failures_after_steps: int = 3) -> Shipment:
    """Label now, then one poll per sandbox step until the parcel's first failed attempt (step 3)."""
    with transaction.atomic():
        publish(order_confirmed(user=customer, address={"line2": address_line2}))
    deliver_pending()
    poll_tracking_task()
    for _ in range(failures_after_steps):
        clock.shift(STEP)
        poll_tracking_task()
        deliver_pending()
    return Shipment.objects.get()


def test_a_failed_attempt_gets_the_carriers_new_estimate_and_choices_once(rates, customer, clock):
    shipment = ship(customer, clock, address_line2="FAIL-ONCE")

    assert shipment.status == "delivery_failed"
    [info] = shipments_for_order(order_number="FM-TEST0001")
    failure = info.delivery_failure
    assert (failure.attempt, failure.reason) == (1, "Delivery attempt failed: recipient not available")
    assert failure.failed_at == START + 3 * STEP
    assert failure.estimated_delivery_date == date(2026, 11, 3)  # the sandbox: the day after the attempt
    assert (failure.estimate_source, failure.estimate_source_display) == ("carrier", "the carrier's estimate")
    assert (failure.choices, failure.pickup_point, failure.choice) == (
        ("redeliver", "pickup"),
        "Local delivery station",
        "",
    )
    [rescheduled] = events_named("DeliveryRescheduled")
    assert {
        k: rescheduled.payload[k] for k in ("attempt", "estimated_delivery_date", "estimate_source", "choices")
    } == {
        "attempt": 1,
        "estimated_delivery_date": "2026-11-03",
        "estimate_source": "carrier",
        "choices": ["redeliver", "pickup"],
    }

    poll_tracking_task()  # nothing new from the carrier: nothing said twice
    assert len(events_named("DeliveryRescheduled")) == 1


def test_customer_picks_up_and_the_carrier_follows_the_choice(rates, customer, customer_client, clock):
    shipment = ship(customer, clock, address_line2="FAIL-ONCE")

    response = customer_client.post(URL.format(shipment.number), {"choice": "pickup"}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()["delivery_failure"]
    # Ready at the pick-up point one step later, the same day.
    assert (body["choice"], body["choices"], body["estimated_delivery_date"]) == ("pickup", [], "2026-11-02")
    assert DeliveryFailure.objects.get().instruction_sent_at == START + 3 * STEP

    for _ in range(2):
        clock.shift(STEP)
        poll_tracking_task()
    [info] = shipments_for_order(order_number="FM-TEST0001")
    assert info.status == "delivered"
    assert [step.description for step in info.history if step.status in ("ready_for_pickup", "delivered")][-2:] == [
        "Waiting for you at the pick-up point: Local delivery station",
        "Collected at the pick-up point",
    ]
    assert "out_for_delivery" not in [step.status for step in info.history]  # the path's re-attempt did not happen


def test_customer_asks_for_redelivery_through_the_service_and_asking_again_is_harmless(rates, customer, clock):
    shipment = ship(customer, clock, address_line2="FAIL-ALWAYS")
    choose = {"order_number": "FM-TEST0001", "shipment_number": shipment.number, "choice": "redeliver"}

    first = shipping_services.shipment_delivery_choose(**choose, user_id=str(customer.public_id))
    again = shipping_services.shipment_delivery_choose(**choose)

    assert (first.instruction, again.instruction, again.estimated_delivery_date) == (
        "redeliver",
        "redeliver",
        date(2026, 11, 2),
    )
    for _ in range(2):
        clock.shift(STEP)
        poll_tracking_task()
    shipment.refresh_from_db()
    # FAIL-ALWAYS would have failed twice more; the re-delivery asked for was delivered instead.
    assert (shipment.status, shipment.failed_attempts) == ("delivered", 1)


def test_choices_that_are_not_on_offer_are_refused(rates, customer, customer_client, other_customer, api_client, clock):
    shipment = ship(customer, clock, address_line2="FAIL-ONCE")
    url = URL.format(shipment.number)

    api_client.force_authenticate(other_customer)
    assert api_client.post(url, {"choice": "pickup"}, format="json").status_code == 404
    api_client.force_authenticate(None)
    assert api_client.post(url, {"choice": "pickup"}, format="json").status_code == 401
    bad = customer_client.post(url, {"choice": "teleport"}, format="json")
    assert (bad.status_code, bad["Content-Type"], list(bad.json()["errors"])) == (
        400,
        "application/problem+json",
        ["choice"],
    )

    assert customer_client.post(url, {"choice": "redeliver"}, format="json").status_code == 200
    other = customer_client.post(url, {"choice": "pickup"}, format="json")
    assert (other.status_code, other.json()["code"]) == (409, "delivery_choice_not_available")
    assert other.json()["detail"] == "You already chose: deliver again."


def test_no_choice_once_the_carrier_reattempts(rates, customer, customer_client, clock):
    shipment = ship(customer, clock, address_line2="FAIL-ONCE")
    clock.shift(STEP)
    poll_tracking_task()  # out for delivery again

    response = customer_client.post(URL.format(shipment.number), {"choice": "pickup"}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "delivery_choice_not_available")
    assert response.json()["detail"] == "This parcel is not waiting after a failed delivery attempt any more."
    [info] = shipments_for_order(order_number="FM-TEST0001")
    assert info.delivery_failure.choices == ()
    assert info.delivery_failure.estimated_delivery_date == date(2026, 11, 3)  # still shown until delivered


class TracksOnly:
    """A carrier adapter written before the delivery-failure methods existed (as a new adapter may be)."""

    code = "sandbox"

    def __init__(self):
        self._sandbox = SandboxCarrier()

    def create_label(self, *, parcel):
        return self._sandbox.create_label(parcel=parcel)

    def track(self, *, tracking_number):
        return self._sandbox.track(tracking_number=tracking_number)

    def cancel(self, *, tracking_number, label_id):
        return self._sandbox.cancel(tracking_number=tracking_number, label_id=label_id)


def test_a_carrier_that_gives_no_estimate_gets_the_shops_rule_and_no_choice(
    rates, customer, customer_client, monkeypatch
):
    monkeypatch.setitem(carriers._ADAPTERS, "sandbox", TracksOnly)
    friday = datetime(2026, 11, 6, 9, 0, tzinfo=UTC)
    with time_machine.travel(friday, tick=False) as clock:
        shipment = ship(customer, clock, address_line2="FAIL-ONCE")
        response = customer_client.post(URL.format(shipment.number), {"choice": "pickup"}, format="json")

    failure = DeliveryFailure.objects.get()
    # Failed on Friday: next business day Monday 9th, plus one business day (SHIPPING_REDELIVERY_EXTRA_BUSINESS_DAYS).
    assert (failure.estimated_delivery_date, failure.estimate_source, failure.choices) == (
        date(2026, 11, 10),
        "shop_rule",
        [],
    )
    assert events_named("DeliveryRescheduled")[0].payload["estimate_source"] == "shop_rule"
    assert (response.status_code, response.json()["code"]) == (409, "delivery_choice_not_available")


@pytest.mark.parametrize(
    ("failed_on", "extra", "expected"),
    [
        (date(2026, 11, 2), 0, date(2026, 11, 3)),  # Monday → Tuesday
        (date(2026, 11, 6), 0, date(2026, 11, 9)),  # Friday → Monday
        (date(2026, 11, 7), 2, date(2026, 11, 11)),  # Saturday → Monday + 2 → Wednesday
    ],
)
def test_shop_estimate_is_the_next_business_day_plus_the_setting(settings, failed_on, extra, expected):
    settings.SHIPPING_REDELIVERY_EXTRA_BUSINESS_DAYS = extra
    assert shop_estimate(failed_on=failed_on) == expected


class OptionsDown(SandboxCarrier):
    def delivery_options(self, *, tracking_number):
        raise CarrierUnavailable("carrier API timed out")


def test_carrier_down_for_the_estimate_asks_again_then_tells_the_shops_estimate(rates, customer, clock, monkeypatch):
    monkeypatch.setitem(carriers._ADAPTERS, "sandbox", OptionsDown)
    ship(customer, clock, address_line2="FAIL-ONCE")
    assert DeliveryFailure.objects.get().options_checked_at is None
    assert events_named("DeliveryRescheduled") == []

    clock.shift(timedelta(seconds=599))
    poll_tracking_task()
    assert events_named("DeliveryRescheduled") == []  # still within SHIPPING_DELIVERY_OPTIONS_WAIT_SECONDS

    clock.shift(timedelta(seconds=2))
    poll_tracking_task()
    failure = DeliveryFailure.objects.get()
    assert (failure.estimated_delivery_date, failure.estimate_source, failure.choices) == (
        date(2026, 11, 4),
        "shop_rule",
        [],
    )
    assert len(events_named("DeliveryRescheduled")) == 1


def test_a_failure_reported_by_webhook_gets_its_estimate_from_the_poll(rates, customer, api_client, clock):
    """The estimate task is queued after commit; if it is lost, the next beat poll asks the carrier."""
    shipment = ship(customer, clock, address_line2="", failures_after_steps=0)
    events = [
        {
            "event_id": f"evt-{sequence}",
            "tracking_number": shipment.tracking_number,
            "sequence": sequence,
            "code": code,
            "description": description,
            "location": "Hub",
            "occurred_at": (START + sequence * timedelta(minutes=5)).isoformat(),
        }
        for sequence, code, description in [(1, "picked_up", "Picked up"), (2, "delivery_failed", "Dog in the garden")]
    ]
    body = json.dumps({"events": events}).encode()
    ts = int(time.time())
    response = api_client.post(
        "/api/v1/shipping/webhooks/sandbox/",
        data=body,
        content_type="application/json",
        HTTP_X_CARRIER_TIMESTAMP=str(ts),
        HTTP_X_CARRIER_SIGNATURE=webhook_sign(body=body, timestamp=ts),
    )
    assert response.json()["applied"] == 2
    assert DeliveryFailure.objects.get().options_checked_at is None

    poll_tracking_task()

    failure = DeliveryFailure.objects.get()
    # The sandbox's own tracking (path N) shows no failure: it offers nothing, so the shop's rule applies.
    assert (failure.reason, failure.estimated_delivery_date, failure.estimate_source) == (
        "Dog in the garden",
        date(2026, 11, 4),
        "shop_rule",
    )


def test_the_shop_gives_up_after_the_allowed_attempts_and_the_carrier_returns_the_parcel(
    rates, customer, clock, settings
):
    settings.SHIPPING_MAX_DELIVERY_ATTEMPTS = 2
    ship(customer, clock, address_line2="FAIL-ALWAYS")  # attempt 1 failed
    for _ in range(2):
        clock.shift(STEP)
        poll_tracking_task()  # out for delivery, attempt 2 failed

    shipment = Shipment.objects.get()
    assert (shipment.status, shipment.failed_attempts) == ("returned_to_sender", 2)
    assert [(e.payload["attempt"], e.payload["returned_to_sender"]) for e in events_named("DeliveryFailed")] == [
        (1, False),
        (2, False),  # the last attempt failed: the carrier is asked to return the parcel...
        (2, True),  # ...and accepted: only now is it returned to sender (and the order refunded)
    ]
    last = shipment.transitions.order_by("at", "id").last()
    assert (last.actor, last.reason) == ("system", "2 failed delivery attempts (the shop allows 2): returned to sender")
    failure = DeliveryFailure.objects.get(attempt=2)
    assert (failure.instruction, failure.instruction_sent_at, failure.options_checked_at) == (
        "return",
        START + 5 * STEP,
        None,
    )

    clock.shift(STEP * 5)
    # The carrier followed the shop's instruction instead of a third attempt.
    steps = [(u.code, u.description) for u in SandboxCarrier().track(tracking_number=shipment.tracking_number)]
    assert steps[4:] == [
        ("delivery_failed", "Delivery attempt failed: recipient not available"),
        ("returned_to_sender", "Returned to sender at the shop's request"),
    ]


class ReturnsRefused(SandboxCarrier):
    """A carrier that takes no delivery instructions through its API (the base adapter's answer; EasyPost's)."""

    delivery_instruct = carriers.Carrier.delivery_instruct


class InstructionsDown(SandboxCarrier):
    def delivery_instruct(self, *, tracking_number, instruction):
        raise CarrierUnavailable("carrier API timed out")


def give_up(customer, clock, settings):
    """Two attempts allowed; the parcel fails both (the second at START + 5 steps)."""
    settings.SHIPPING_MAX_DELIVERY_ATTEMPTS = 2
    ship(customer, clock, address_line2="FAIL-ALWAYS")
    for _ in range(2):
        clock.shift(STEP)
        poll_tracking_task()
    return Shipment.objects.get()


def returned(shipment_events):
    return [(e.payload["attempt"], e.payload["returned_to_sender"]) for e in shipment_events]


def test_the_parcel_is_not_returned_until_the_carrier_accepts_the_shops_instruction(
    rates, customer, clock, settings, monkeypatch
):
    monkeypatch.setitem(carriers._ADAPTERS, "sandbox", InstructionsDown)
    shipment = give_up(customer, clock, settings)

    # The carrier did not answer: the parcel still waits after attempt 2, nothing tells orders to refund it.
    assert (shipment.status, shipment.failed_attempts) == ("delivery_failed", 2)
    assert returned(events_named("DeliveryFailed")) == [(1, False), (2, False)]
    assert DeliveryFailure.objects.get(attempt=2).instruction_sent_at is None

    monkeypatch.setitem(carriers._ADAPTERS, "sandbox", SandboxCarrier)
    clock.shift(timedelta(minutes=5))
    poll_tracking_task()  # the poll passes the instruction on

    shipment.refresh_from_db()
    assert shipment.status == "returned_to_sender"
    assert returned(events_named("DeliveryFailed")) == [(1, False), (2, False), (2, True)]


def test_a_carrier_that_refuses_the_return_leaves_it_to_staff_and_nothing_is_refunded_meanwhile(
    rates, customer, clock, settings, monkeypatch, staff_user
):
    monkeypatch.setitem(carriers._ADAPTERS, "sandbox", ReturnsRefused)
    shipment = give_up(customer, clock, settings)

    failure = DeliveryFailure.objects.get(attempt=2)
    assert failure.instruction_error == "The sandbox carrier takes no delivery instructions."
    assert shipment.status == "delivery_failed"
    assert returned(events_named("DeliveryFailed")) == [(1, False), (2, False)]
    [refused] = events_named("DeliveryInstructionRefused")
    assert {k: refused.payload[k] for k in ("shipment_number", "attempt", "instruction", "detail")} == {
        "shipment_number": shipment.number,
        "attempt": 2,
        "instruction": "return",
        "detail": "The sandbox carrier takes no delivery instructions.",
    }
    clock.shift(timedelta(minutes=5))
    poll_tracking_task()  # a refusal is not retried
    assert len(events_named("DeliveryInstructionRefused")) == 1

    shipping_services.shipment_return_arranged(shipment_number=shipment.number, by=staff_user)

    shipment.refresh_from_db()
    assert shipment.status == "returned_to_sender"
    assert returned(events_named("DeliveryFailed")) == [(1, False), (2, False), (2, True)]
    last = shipment.transitions.order_by("at", "id").last()
    assert (last.actor, last.by_id, last.reason) == (
        "staff",
        staff_user.pk,
        "Return arranged with the carrier by staff",
    )
    with pytest.raises(shipping_services.ReturnNotAwaited):
        shipping_services.shipment_return_arranged(shipment_number=shipment.number, by=staff_user)


def test_a_parcel_delivered_before_the_return_was_sent_stays_delivered(rates, customer, clock, settings, monkeypatch):
    monkeypatch.setitem(carriers._ADAPTERS, "sandbox", InstructionsDown)
    shipment = give_up(customer, clock, settings)
    clock.shift(STEP)
    # The carrier's next scan (its webhook): the neighbour took it in after all.
    shipping_services.tracking_updates_record(
        tracking_number=shipment.tracking_number,
        updates=[
            carriers.TrackingUpdate(
                event_id="late-delivery",
                tracking_number=shipment.tracking_number,
                sequence=shipment.last_sequence + 1,
                code="delivered",
                description="Delivered to a neighbour",
                location="Springfield",
                occurred_at=START + 6 * STEP,
            )
        ],
        source="webhook",
    )
    monkeypatch.setitem(carriers._ADAPTERS, "sandbox", SandboxCarrier)
    poll_tracking_task()

    shipment.refresh_from_db()
    assert shipment.status == "delivered"
    assert returned(events_named("DeliveryFailed")) == [(1, False), (2, False)]
    failure = DeliveryFailure.objects.get(attempt=2)
    assert (failure.instruction_sent_at, failure.instruction_error) == (
        None,
        "Not sent: the parcel was delivered first.",
    )
