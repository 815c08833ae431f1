"""The signed carrier webhooks: verify, de-duplicate and apply pushed tracking updates.

``POST /api/v1/shipping/webhooks/<carrier>/``: ``easypost`` receives EasyPost's signed events
(verified and read by its adapter, ``shipping/carriers/easypost_carrier.py``); ``sandbox``
receives the format below.

Sandbox signature: ``X-Carrier-Timestamp: <unix seconds>`` and
``X-Carrier-Signature: v1=<hex HMAC-SHA256(CARRIER_WEBHOOK_SECRET, "<timestamp>.<raw body>")>``.
A timestamp further than ``CARRIER_WEBHOOK_TOLERANCE_SECONDS`` from now is refused, so a
captured request cannot be replayed later; within the window a replay changes nothing
because every update is stored once by its carrier event id.

Body::

    {"events": [{"event_id": "...", "tracking_number": "...", "sequence": 3, "code": "delivered",
                 "description": "Delivered", "location": "Springfield", "occurred_at": "2026-…Z"}]}
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime

from django.conf import settings

from flowmart.errors import FlowMartError, NotFound
from shipping.carriers import TrackingUpdate, WebhookRejected, get_carrier
from shipping.tracking import tracking_updates_record

KNOWN_CODES = {
    "picked_up",
    "in_transit",
    "out_for_delivery",
    "ready_for_pickup",
    "delivery_failed",
    "delivered",
    "returned_to_sender",
}


class WebhookSignatureInvalid(FlowMartError):
    code = "webhook_signature_invalid"
    status = 401
    title = "The webhook signature is missing, invalid or stale"


class UnknownCarrier(NotFound):
    code = "unknown_carrier"
    title = "No such carrier"


class WebhookPayloadInvalid(FlowMartError):
    code = "webhook_payload_invalid"
    status = 400
    title = "The webhook body is not a valid list of tracking events"


def webhook_sign(*, body: bytes, timestamp: int, secret: str | None = None) -> str:
    secret = secret if secret is not None else settings.CARRIER_WEBHOOK_SECRET
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={mac}"


def webhook_verify(*, body: bytes, timestamp: str | None, signature: str | None) -> None:
    if not timestamp or not signature:
        raise WebhookSignatureInvalid("X-Carrier-Timestamp and X-Carrier-Signature headers are required.")
    try:
        ts = int(timestamp)
    except ValueError as exc:
        raise WebhookSignatureInvalid("X-Carrier-Timestamp must be Unix seconds.") from exc
    if abs(time.time() - ts) > settings.CARRIER_WEBHOOK_TOLERANCE_SECONDS:
        raise WebhookSignatureInvalid("The webhook timestamp is outside the accepted window.")
    expected = webhook_sign(body=body, timestamp=ts)
    if not hmac.compare_digest(expected, signature.strip()):
        raise WebhookSignatureInvalid("The webhook signature does not match.")


def _aware(value: datetime) -> datetime:
    """Carriers that send naive times mean UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _parse(body: bytes) -> list[TrackingUpdate]:
    try:
        data = json.loads(body)
        items = data["events"]
        if not isinstance(items, list):
            raise TypeError
        updates = []
        for item in items:
            code = str(item["code"])
            if code not in KNOWN_CODES:
                raise ValueError(f"unknown code {code!r}")
            sequence = int(item["sequence"])
            if sequence < 1:
                raise ValueError("sequence starts at 1")
            updates.append(
                TrackingUpdate(
                    event_id=str(item["event_id"]),
                    tracking_number=str(item["tracking_number"]),
                    sequence=sequence,
                    code=code,
                    description=str(item.get("description") or code.replace("_", " ").capitalize()),
                    location=str(item.get("location") or ""),
                    occurred_at=_aware(datetime.fromisoformat(str(item["occurred_at"]))),
                )
            )
    except (ValueError, KeyError, TypeError) as exc:
        raise WebhookPayloadInvalid(f"Invalid webhook body: {exc}") from exc
    return updates


def _verified_updates(*, carrier: str, body: bytes, headers: Mapping[str, str]) -> list[TrackingUpdate]:
    """The sandbox's format (above), or the carrier adapter's own signed format (EasyPost's events)."""
    if carrier == "sandbox":
        webhook_verify(
            body=body, timestamp=headers.get("X-Carrier-Timestamp"), signature=headers.get("X-Carrier-Signature")
        )
        return _parse(body)
    try:
        return get_carrier(carrier).webhook_updates(body=body, headers=headers)
    except LookupError as exc:
        raise UnknownCarrier(f"No carrier {carrier!r} sends webhooks.") from exc
    except WebhookRejected as exc:
        if exc.signature:
            raise WebhookSignatureInvalid(str(exc)) from exc
        raise WebhookPayloadInvalid(str(exc)) from exc


def carrier_webhook_receive(*, carrier: str, body: bytes, headers: Mapping[str, str]) -> dict:
    """Verify and apply one webhook delivery; returns counts for the response."""
    by_parcel: dict[str, list[TrackingUpdate]] = defaultdict(list)
    for update in _verified_updates(carrier=carrier, body=body, headers=headers):
        by_parcel[update.tracking_number].append(update)
    applied = 0
    unknown = []
    for tracking_number, updates in by_parcel.items():
        try:
            applied += tracking_updates_record(tracking_number=tracking_number, updates=updates, source="webhook")
        except NotFound:
            unknown.append(tracking_number)
    return {"carrier": carrier, "applied": applied, "unknown_tracking_numbers": unknown}
