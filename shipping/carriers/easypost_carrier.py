"""The EasyPost adapter, on EasyPost's official Python client: USPS, UPS, FedEx and others behind one API.

* rates — ``POST /shipments`` (a shipment that is not bought costs nothing) → its ``rates``
* label — the shipment is created with our reference (``reference`` = shipment/RMA number) and
  bought at the rate of the method's service (``"USPS/Priority"``; none named: the cheapest)
* void — ``POST /shipments/{id}/refund`` (EasyPost asks the carrier to refund unused postage)
* tracking — polled with ``GET /trackers?tracking_code=…``, pushed as signed ``tracker.updated`` events
* returns — the same shipment with ``is_return`` (EasyPost swaps the addresses on the label)

Buying is idempotent per reference: EasyPost lets a reference stand in for a shipment id, so
before creating anything the adapter looks the reference up and hands back the label already
bought for it (a retry after a crash, a second worker); "postage already exists" from a buy
that raced us is answered the same way; and a PostgreSQL advisory lock per reference keeps
two of our processes from creating two shipments for one parcel at the same moment.

Errors: a refused address or an unknown service → ``LabelRefused``; no answer in time,
5xx, 429 (rate limited), an unpaid account or a bad API key → ``CarrierUnavailable``
(transient for the shop: the beat poll retries; the last two are logged as errors because
an operator has to act).
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import easypost
import structlog
from django.conf import settings
from django.db import connection
from easypost import errors as ep_errors
from easypost.util import validate_webhook

from flowmart.money import Money
from shipping.carriers.base import (
    CarrierRate,
    CarrierUnavailable,
    Label,
    LabelRefused,
    Parcel,
    TrackingUpdate,
    WebhookRejected,
)

log = structlog.get_logger(__name__)

GRAMS_PER_OUNCE = Decimal("28.349523125")
ADVISORY_NAMESPACE = 7302  # first key of the label-purchase advisory locks (second: hash of the reference)
POSTAGE_EXISTS = "SHIPMENT.POSTAGE.EXISTS"
REFUND_ALREADY_SUBMITTED = "SHIPMENT.REFUND.ALREADY_SUBMITTED"

# EasyPost's tracking statuses → ours; the others (pre_transit, unknown, cancelled, error) move nothing.
_STATUS_CODES = {
    "in_transit": "in_transit",
    "out_for_delivery": "out_for_delivery",
    "available_for_pickup": "out_for_delivery",
    "delivered": "delivered",
    "failure": "delivery_failed",
    "return_to_sender": "returned_to_sender",
}

# Errors an operator must fix (key, billing): the shop keeps the parcel pending meanwhile.
_OPERATOR_ERRORS = (ep_errors.UnauthorizedError, ep_errors.ForbiddenError, ep_errors.PaymentError)
_REFUSALS = (ep_errors.InvalidRequestError, ep_errors.BadRequestError, ep_errors.NotFoundError)


def _translate(exc: ep_errors.EasyPostError, *, what: str) -> Exception:
    status = getattr(exc, "http_status", None)
    message = getattr(exc, "message", "") or str(exc)
    if isinstance(exc, ep_errors.TimeoutError):
        return CarrierUnavailable(f"EasyPost did not answer in time ({what}).")
    if isinstance(exc, ep_errors.RateLimitError):
        return CarrierUnavailable(f"EasyPost rate limit reached ({what}); retrying later.")
    if isinstance(exc, _OPERATOR_ERRORS):
        log.error("easypost refused our account", what=what, status=status, error=message)
        return CarrierUnavailable(f"EasyPost refused our account ({status}): {message}")
    if isinstance(exc, _REFUSALS):
        fields = "; ".join(
            f"{e.get('field')}: {e.get('message')}" for e in (getattr(exc, "errors", None) or []) if isinstance(e, dict)
        )
        detail = f"{message} ({fields})" if fields else message
        return LabelRefused(f"EasyPost refused the {what}: {detail}", easypost_code=getattr(exc, "code", None))
    # 5xx, connection failures, an answer that is not EasyPost's JSON (a proxy's error page).
    return CarrierUnavailable(f"EasyPost is not available ({what}, {status or 'no answer'}).")


def _address(address: Mapping) -> dict:
    return {
        "name": address.get("name") or "",
        "company": address.get("company") or "",
        "street1": address.get("line1") or "",
        "street2": address.get("line2") or "",
        "city": address.get("city") or "",
        "state": address.get("region") or "",
        "zip": address.get("postal_code") or "",
        "country": str(address.get("country") or "").upper(),
        "phone": address.get("phone") or "",
    }


def _ounces(weight_grams: int) -> float:
    return float(max(Decimal("0.1"), (Decimal(weight_grams) / GRAMS_PER_OUNCE).quantize(Decimal("0.1"))))


def _service(rate: Mapping) -> str:
    return f"{rate.get('carrier', '')}/{rate.get('service', '')}"


def _price_minor(rate: Mapping) -> tuple[int, str] | None:
    currency = str(rate.get("currency") or "").upper()
    try:
        return Money.from_decimal(Decimal(str(rate.get("rate"))), currency).amount_minor, currency
    except (InvalidOperation, ValueError, TypeError):
        return None


def _aware(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def tracker_updates(tracker: Mapping) -> list[TrackingUpdate]:
    """A tracker's history as our updates: numbered 1, 2, … over the steps that mean something to us.

    The poll and the webhook both read EasyPost's full history, so an update keeps its sequence
    and event id whichever way it arrives, and the two de-duplicate each other.
    """
    tracking_number = str(tracker.get("tracking_code") or "")
    tracker_id = str(tracker.get("id") or tracking_number)
    updates = []
    for detail in tracker.get("tracking_details") or []:
        code = _STATUS_CODES.get(str(detail.get("status") or ""))
        if code is None:
            continue
        sequence = len(updates) + 1
        where = detail.get("tracking_location") or {}
        location = ", ".join(str(where[k]) for k in ("city", "state", "country") if where.get(k))
        updates.append(
            TrackingUpdate(
                event_id=f"easypost:{tracker_id}:{sequence}",
                tracking_number=tracking_number,
                sequence=sequence,
                code=code,
                description=str(detail.get("message") or code.replace("_", " ").capitalize())[:255],
                location=location[:100],
                occurred_at=_aware(str(detail["datetime"])),
            )
        )
    return updates


@contextmanager
def _purchase_lock(reference: str) -> Iterator[None]:
    """One label purchase per reference at a time across every process (session-level advisory lock).

    Held over the network call on purpose: no transaction is open, only the lock; a process that
    dies releases it with its connection.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", [ADVISORY_NAMESPACE, reference])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", [ADVISORY_NAMESPACE, reference])


class EasyPostCarrier:
    code = "easypost"

    def __init__(self, *, api_key: str | None = None, api_base: str | None = None) -> None:
        self.api_key = api_key or settings.EASYPOST_API_KEY
        self.api_base = (api_base or settings.EASYPOST_API_BASE).rstrip("/")

    def _client(self, timeout_seconds: float | None = None) -> easypost.EasyPostClient:
        if not self.api_key:
            raise CarrierUnavailable("EasyPost is not configured: set EASYPOST_API_KEY.")
        return easypost.EasyPostClient(
            self.api_key, api_base=self.api_base, timeout=timeout_seconds or settings.EASYPOST_TIMEOUT_SECONDS
        )

    def _call(self, what: str, fn, *args, **kwargs) -> dict:
        try:
            result = fn(*args, **kwargs)
        except ep_errors.EasyPostError as exc:
            raise _translate(exc, what=what) from exc
        return result.to_dict() if hasattr(result, "to_dict") else dict(result)

    def _origin(self, parcel: Parcel) -> dict:
        origins = settings.EASYPOST_FROM_ADDRESSES
        origin = origins.get(parcel.warehouse_code) or origins.get("default")
        if not origin:
            raise CarrierUnavailable(
                f"EasyPost needs a from-address for warehouse {parcel.warehouse_code or 'default'!r}: "
                "set EASYPOST_FROM_ADDRESSES."
            )
        return _address(origin)

    def _shipment_params(self, parcel: Parcel) -> dict:
        params = {
            "to_address": _address(parcel.address),
            "from_address": self._origin(parcel),
            "parcel": {"weight": _ounces(parcel.weight_grams)},
            "options": {"label_format": "PDF"},
        }
        if parcel.reference:
            params["reference"] = parcel.reference
        if parcel.is_return:
            params["is_return"] = True
        return params

    # -- rates -----------------------------------------------------------------------------
    def rates(self, *, parcel: Parcel, timeout_seconds: float) -> list[CarrierRate]:
        client = self._client(timeout_seconds)
        shipment = self._call("rate request", client.shipment.create, **self._shipment_params(parcel))
        offers = []
        for rate in shipment.get("rates") or []:
            price = _price_minor(rate)
            if price is None:
                continue
            days = rate.get("delivery_days")
            offers.append(
                CarrierRate(
                    service=_service(rate),
                    price_minor=price[0],
                    currency=price[1],
                    delivery_days=int(days) if isinstance(days, int | float) else None,
                )
            )
        return offers

    # -- labels ----------------------------------------------------------------------------
    def create_label(self, *, parcel: Parcel) -> Label:
        if not parcel.reference:
            raise ValueError("a label needs a reference (the carrier's idempotency key)")
        client = self._client()
        with _purchase_lock(parcel.reference):
            shipment = self._find(client, parcel.reference)
            if shipment is not None and shipment.get("postage_label"):
                if shipment.get("refund_status") in ("submitted", "refunded"):
                    raise LabelRefused(f"The EasyPost label for {parcel.reference} was voided.")
                log.info("easypost label already bought for this reference", reference=parcel.reference)
                return self._label(shipment)
            if shipment is None:
                shipment = self._call("address", client.shipment.create, **self._shipment_params(parcel))
            rate = self._rate_to_buy(shipment, parcel)
            try:
                bought = client.shipment.buy(shipment["id"], rate={"id": rate["id"]})
            except ep_errors.EasyPostError as exc:
                if getattr(exc, "code", None) != POSTAGE_EXISTS:
                    raise _translate(exc, what="label") from exc
                bought = self._call("label", client.shipment.retrieve, shipment["id"])
            return self._label(bought.to_dict() if hasattr(bought, "to_dict") else bought)

    def _find(self, client, reference: str) -> dict | None:
        """The shipment EasyPost holds under our reference, if any (a reference stands in for an id)."""
        try:
            return client.shipment.retrieve(reference).to_dict()
        except ep_errors.NotFoundError:
            return None
        except ep_errors.EasyPostError as exc:
            raise _translate(exc, what="label lookup") from exc

    @staticmethod
    def _rate_to_buy(shipment: Mapping, parcel: Parcel) -> dict:
        rates = [r for r in shipment.get("rates") or [] if _price_minor(r) is not None]
        if parcel.service:
            wanted = parcel.service.lower()
            rates = [r for r in rates if _service(r).lower() == wanted]
        if not rates:
            service = parcel.service or "any service"
            raise LabelRefused(f"EasyPost offers no {service} for this parcel.")
        return min(rates, key=lambda r: Decimal(str(r["rate"])))

    def _label(self, shipment: Mapping) -> Label:
        postage = shipment.get("postage_label") or {}
        tracking_code = shipment.get("tracking_code") or ""
        if not tracking_code:
            raise CarrierUnavailable(f"EasyPost returned shipment {shipment.get('id')} without a tracking code.")
        return Label(
            carrier=self.code,
            tracking_number=tracking_code,
            label_id=str(shipment["id"]),
            label_url=str(postage.get("label_url") or postage.get("label_pdf_url") or ""),
        )

    def cancel(self, *, tracking_number: str, label_id: str) -> None:
        client = self._client()
        try:
            client.shipment.refund(label_id)
        except ep_errors.EasyPostError as exc:
            if getattr(exc, "code", None) == REFUND_ALREADY_SUBMITTED:
                return
            raise _translate(exc, what="void") from exc

    # -- tracking --------------------------------------------------------------------------
    def track(self, *, tracking_number: str) -> list[TrackingUpdate]:
        client = self._client()
        page = self._call("tracking", client.tracker.all, tracking_code=tracking_number, page_size=1)
        trackers = [t for t in page.get("trackers") or [] if t.get("tracking_code") == tracking_number]
        return tracker_updates(trackers[0]) if trackers else []

    def webhook_updates(self, *, body: bytes, headers: Mapping[str, str]) -> list[TrackingUpdate]:
        """A signed EasyPost event: ``X-Hmac-Signature: hmac-sha256-hex=<HMAC-SHA256(secret, raw body)>``.

        EasyPost signs the body only (no timestamp): a replayed delivery is harmless because
        every update is stored once and applied in sequence order.
        """
        secret = settings.EASYPOST_WEBHOOK_SECRET
        if not secret:
            raise WebhookRejected(
                "EASYPOST_WEBHOOK_SECRET is not set: unsigned deliveries are refused.", signature=True
            )
        try:
            event = validate_webhook(body, dict(headers.items()), secret)
        except ep_errors.SignatureVerificationError as exc:
            raise WebhookRejected(str(exc), signature=True) from exc
        except (ValueError, UnicodeDecodeError) as exc:  # signed, but not JSON
            raise WebhookRejected(f"Invalid EasyPost event: {exc}", signature=False) from exc
        if not isinstance(event, dict) or not isinstance(event.get("result"), dict):
            raise WebhookRejected("An EasyPost event has a result object.", signature=False)
        if not str(event.get("description") or "").startswith("tracker."):
            return []  # other events (batches, invoices, refunds) are acknowledged and ignored
        try:
            return tracker_updates(event["result"])
        except (KeyError, TypeError, ValueError) as exc:
            raise WebhookRejected(f"Invalid EasyPost tracker: {exc!r}", signature=False) from exc


def webhook_signature(*, body: bytes, secret: str) -> str:
    """What EasyPost puts in ``X-Hmac-Signature`` (for the stand-in and tests)."""
    key = unicodedata.normalize("NFKD", secret).encode()
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()
