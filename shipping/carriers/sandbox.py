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

A label can be voided (``cancel``) until the parcel's first step (picked up) has happened; after that the
carrier refuses with ``ParcelAlreadyPickedUp``: the parcel is on its way.

After a failed attempt it offers re-delivery or pick-up (``delivery_options``) and honours the instruction
(``delivery_instruct``): the steps after the instruction follow it instead of the path. The instruction is the
one thing the sandbox remembers; it keeps it in the cache, which stands for the carrier's own database.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from shipping.carriers.base import (
    PICKUP,
    REDELIVER,
    RETURN,
    Carrier,
    CarrierRate,
    CarrierUnavailable,
    DeliveryOptions,
    InstructionRefused,
    Label,
    LabelRefused,
    Parcel,
    ParcelAlreadyPickedUp,
    TrackingUpdate,
)

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
PICKUP_POINT = "Local delivery station"
# The steps that replace the rest of the path once the carrier has an instruction.
AFTER_INSTRUCTION: dict[str, list[tuple[str, str]]] = {
    REDELIVER: [
        ("out_for_delivery", "Out for delivery: the re-delivery you asked for"),
        ("delivered", "Delivered"),
    ],
    PICKUP: [
        ("ready_for_pickup", f"Waiting for you at the pick-up point: {PICKUP_POINT}"),
        ("delivered", "Collected at the pick-up point"),
    ],
    RETURN: [("returned_to_sender", "Returned to sender at the shop's request")],
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


def _instruction_key(tracking_number: str) -> str:
    return f"sandbox-carrier:instruction:{tracking_number}"


def _steps(tracking_number: str, path: str, created_at: datetime) -> list[tuple[str, str, datetime]]:
    """Every step of the parcel (code, description, when), past and future: the path, unless an instruction
    replaced what was still to come when it arrived."""
    step = timedelta(seconds=settings.SHIPPING_SANDBOX_STEP_SECONDS)
    planned = [(code, text, created_at + index * step) for index, (code, text) in enumerate(PATHS[path], start=1)]
    instruction = cache.get(_instruction_key(tracking_number))
    if instruction is None:
        return planned
    given_at = datetime.fromtimestamp(instruction["at"], tz=UTC)
    done = [s for s in planned if s[2] <= given_at]
    return done + [
        (code, text, created_at + (len(done) + index) * step)
        for index, (code, text) in enumerate(AFTER_INSTRUCTION[instruction["instruction"]], start=1)
    ]


class SandboxCarrier(Carrier):
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
        now = timezone.now()
        updates = []
        for index, (code, description, occurred_at) in enumerate(_steps(tracking_number, path, created_at), start=1):
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
        """Void a label, unless the parcel was already scanned (its first step, ``picked_up``, has happened)."""
        if parse_tracking_number(tracking_number) is None:
            raise LabelRefused(f"Sandbox carrier does not know label {tracking_number!r}.")
        if self._last_step(tracking_number) is not None:
            raise ParcelAlreadyPickedUp(f"Sandbox carrier: parcel {tracking_number} was already picked up.")

    def delivery_options(self, *, tracking_number: str) -> DeliveryOptions:
        """Waiting after a failed attempt: re-delivery or pick-up, estimated for the day after the attempt."""
        last = self._last_step(tracking_number)
        if last is None or last[0] != "delivery_failed" or cache.get(_instruction_key(tracking_number)):
            return DeliveryOptions()
        return DeliveryOptions(
            estimated_delivery_date=(last[2] + timedelta(days=1)).date(),
            choices=(REDELIVER, PICKUP),
            pickup_point=PICKUP_POINT,
        )

    def delivery_instruct(self, *, tracking_number: str, instruction: str):
        """Re-delivery or pick-up only while the parcel waits after a failed attempt; a return until it is
        delivered. The same instruction again is answered the same; a different one is refused."""
        parsed = parse_tracking_number(tracking_number)
        last = self._last_step(tracking_number)
        if parsed is None or instruction not in AFTER_INSTRUCTION:
            raise InstructionRefused(f"Sandbox carrier: no instruction {instruction!r} for {tracking_number!r}.")
        key = _instruction_key(tracking_number)
        known = cache.get(key)
        if known is None:
            if last is not None and last[0] in ("delivered", "returned_to_sender"):
                raise InstructionRefused("Sandbox carrier: the parcel's journey is over.")
            if instruction != RETURN and (last is None or last[0] != "delivery_failed"):
                raise InstructionRefused("Sandbox carrier: the parcel is not waiting after a failed attempt.")
            cache.add(key, {"instruction": instruction, "at": int(timezone.now().timestamp())}, timeout=None)
            known = cache.get(key)
        if known["instruction"] != instruction:
            raise InstructionRefused(f"Sandbox carrier: already told to {known['instruction']} this parcel.")
        if instruction == RETURN:
            return None
        # The first step of the instruction: the re-delivery's delivery, or the day it waits at the pick-up point.
        following = _steps(tracking_number, *parsed)[-len(AFTER_INSTRUCTION[instruction]) :]
        return (following[-1] if instruction == REDELIVER else following[0])[2].date()

    def _last_step(self, tracking_number: str) -> tuple[str, str, datetime] | None:
        parsed = parse_tracking_number(tracking_number)
        if parsed is None:
            return None
        happened = [s for s in _steps(tracking_number, *parsed) if s[2] <= timezone.now()]
        return happened[-1] if happened else None


def _location(code: str) -> str:
    return {
        "picked_up": "Origin depot",
        "in_transit": "Sorting hub",
        "out_for_delivery": "Local delivery station",
        "delivery_failed": "Local delivery station",
        "ready_for_pickup": PICKUP_POINT,
        "delivered": "Destination",
        "returned_to_sender": "Origin depot",
    }.get(code, "")
