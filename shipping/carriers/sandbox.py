"""The sandbox carrier: deterministic, stateless, good for tests and demos.

A tracking number encodes the path and the moment the label was created::

    SBX-<path>-<label epoch seconds>-<4 chars>      e.g. SBX-N-1763726400-7KQ2

so ``track()`` is a pure function of the tracking number and the current time:
one step every ``SHIPPING_SANDBOX_STEP_SECONDS`` after label creation. The path is
picked from the shipping address (name, line1, line2), see docs/shipping.md:

* ``FAIL-ONCE``   → one failed delivery attempt, re-attempted, then delivered (path ``F``)
* ``FAIL-ALWAYS`` → three failed attempts, then returned to sender (path ``A``)
* ``REFUSE``, or a country not in ``SHIPPING_SANDBOX_COUNTRIES`` → ``create_label`` refuses
* ``CARRIER-DOWN`` → ``create_label`` raises ``CarrierUnavailable`` (transient; retried)
* anything else → picked up, in transit, delivered (path ``N``)
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from shipping.carriers.base import CarrierRate, CarrierUnavailable, Label, LabelRefused, Parcel, TrackingUpdate

PATHS: dict[str, list[tuple[str, str]]] = {
    "N": [
        ("picked_up", "Picked up by the carrier"),
        ("in_transit", "In transit"),
        ("delivered", "Delivered"),
    ],
    "F": [
        ("picked_up", "Picked up by the carrier"),
        ("in_transit", "In transit"),
        ("delivery_failed", "Delivery attempt failed: recipient not available"),
        ("out_for_delivery", "Out for delivery (second attempt)"),
        ("delivered", "Delivered"),
    ],
    "A": [
        ("picked_up", "Picked up by the carrier"),
        ("in_transit", "In transit"),
        ("delivery_failed", "Delivery attempt failed: recipient not available"),
        ("out_for_delivery", "Out for delivery (second attempt)"),
        ("delivery_failed", "Delivery attempt failed: recipient not available"),
        ("out_for_delivery", "Out for delivery (third attempt)"),
        ("delivery_failed", "Delivery attempt failed: address not accessible"),
        ("returned_to_sender", "Returned to sender"),
    ],
    "R": [],  # return labels: the warehouse books the parcel in, the carrier reports nothing
}


def _address_text(address: dict) -> str:
    return " ".join(str(address.get(k) or "") for k in ("name", "line1", "line2")).upper()


def path_for(parcel: Parcel) -> str:
    if parcel.is_return:
        return "R"
    text = _address_text(parcel.address)
    if "FAIL-ALWAYS" in text:
        return "A"
    if "FAIL-ONCE" in text:
        return "F"
    return "N"


def parse_tracking_number(tracking_number: str) -> tuple[str, datetime] | None:
    parts = (tracking_number or "").split("-")
    if len(parts) != 4 or parts[0] != "SBX" or parts[1] not in PATHS or not parts[2].isdigit():
        return None
    return parts[1], datetime.fromtimestamp(int(parts[2]), tz=UTC)


class SandboxCarrier:
    code = "sandbox"

    def rates(self, *, parcel: Parcel, timeout_seconds: float) -> list[CarrierRate]:
        """The sandbox prices nothing: a method asking it for live rates keeps its flat rates."""
        return []

    def create_label(self, *, parcel: Parcel) -> Label:
        text = _address_text(parcel.address)
        country = str(parcel.address.get("country") or "").upper()
        if "CARRIER-DOWN" in text:
            raise CarrierUnavailable("Sandbox carrier: simulated outage (CARRIER-DOWN in the address).")
        if "REFUSE" in text:
            raise LabelRefused("Sandbox carrier refused the label (REFUSE in the address).")
        if country not in settings.SHIPPING_SANDBOX_COUNTRIES:
            raise LabelRefused(f"Sandbox carrier does not deliver to {country or 'an unknown country'}.")
        created = int(timezone.now().timestamp())
        suffix = hashlib.sha256(f"{parcel.reference}:{created}".encode()).hexdigest()[:4].upper()
        tracking_number = f"SBX-{path_for(parcel)}-{created}-{suffix}"
        return Label(carrier=self.code, tracking_number=tracking_number, label_id=f"lbl_{parcel.reference}_{created}")

    def track(self, *, tracking_number: str) -> list[TrackingUpdate]:
        parsed = parse_tracking_number(tracking_number)
        if parsed is None:
            return []
        path, created_at = parsed
        step = timedelta(seconds=settings.SHIPPING_SANDBOX_STEP_SECONDS)
        now = timezone.now()
        updates = []
        for index, (code, description) in enumerate(PATHS[path], start=1):
            occurred_at = created_at + index * step
            if occurred_at > now:
                break
            updates.append(
                TrackingUpdate(
                    event_id=f"{tracking_number}:{index}",
                    tracking_number=tracking_number,
                    sequence=index,
                    code=code,
                    description=description,
                    location=_location(code),
                    occurred_at=occurred_at,
                )
            )
        return updates

    def cancel(self, *, tracking_number: str, label_id: str) -> None:
        if parse_tracking_number(tracking_number) is None:
            raise LabelRefused(f"Sandbox carrier does not know label {tracking_number!r}.")


def _location(code: str) -> str:
    return {
        "picked_up": "Origin depot",
        "in_transit": "Sorting hub",
        "out_for_delivery": "Local delivery station",
        "delivery_failed": "Local delivery station",
        "delivered": "Destination",
        "returned_to_sender": "Origin depot",
    }.get(code, "")
