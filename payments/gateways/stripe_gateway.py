"""The Stripe adapter, on the official SDK: PaymentIntents with manual capture, refunds, disputes.

FlowMart's "charge id" for Stripe is the PaymentIntent id (``pi_…``). Card
data never reaches FlowMart: the browser or app turns the card into a
PaymentMethod (``pm_…``) with Stripe.js / the mobile SDK, and we only pass
that token on.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import stripe
from django.conf import settings

from payments.gateways.base import (
    KEY_METADATA,
    CardDeclined,
    CardDetails,
    GatewayCharge,
    GatewayDispute,
    GatewayError,
    GatewayMovement,
    GatewayRefund,
    GatewayRequestRefused,
    GatewayServerError,
    GatewayTimeout,
    UnknownPaymentMethod,
    WebhookMessage,
    WebhookSignatureError,
    webhook_timestamp_check,
)

_STATUS = {
    "requires_capture": "authorized",
    "succeeded": "captured",
    "canceled": "voided",
    "requires_payment_method": "failed",
}


def _translate(exc: stripe.StripeError) -> GatewayError:
    if isinstance(exc, stripe.CardError):
        error = exc.error
        decline_code = getattr(error, "decline_code", None) or exc.code or "generic_decline"
        intent = getattr(error, "payment_intent", None)
        charge_id = intent.get("id", "") if isinstance(intent, dict) else getattr(intent, "id", "") or ""
        return CardDeclined(
            exc.user_message or "The card was declined.", decline_code=decline_code, charge_id=charge_id
        )
    if isinstance(exc, stripe.InvalidRequestError):
        if exc.code == "resource_missing" and exc.param == "payment_method":
            return UnknownPaymentMethod("No such payment method.")
        return GatewayRequestRefused(exc.user_message or str(exc), code=exc.code or "invalid_request")
    if isinstance(exc, stripe.APIConnectionError):
        return GatewayTimeout("Stripe did not answer")
    if isinstance(exc, stripe.RateLimitError | stripe.APIError):
        return GatewayServerError(f"Stripe error {exc.http_status}")
    return GatewayRequestRefused(str(exc), code=exc.code or "stripe_error")


def _charge(intent: Any) -> GatewayCharge:
    data = intent if isinstance(intent, dict) else intent.to_dict()
    latest = data.get("latest_charge")
    refunded = 0
    brand = last4 = ""
    if isinstance(latest, dict):
        refunded = latest.get("amount_refunded") or 0
        card = (latest.get("payment_method_details") or {}).get("card") or {}
        brand, last4 = card.get("brand") or "", card.get("last4") or ""
    return GatewayCharge(
        id=data["id"],
        status=_STATUS.get(data["status"], data["status"]),
        amount_minor=data["amount"],
        captured_minor=data.get("amount_received") or 0,
        refunded_minor=refunded,
        currency=data["currency"].upper(),
        brand=brand,
        last4=last4,
        created_at=datetime.fromtimestamp(data["created"], tz=UTC) if data.get("created") else None,
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
    )


# Stripe's reporting category of a balance transaction → our movement kind (others are not about a charge).
_MOVEMENT_KIND = {
    "charge": "capture",
    "refund": "refund",
    "dispute": "dispute_withdrawal",
    "dispute_reversal": "dispute_reinstatement",
}


def _movement(txn: Any) -> GatewayMovement | None:
    data = txn if isinstance(txn, dict) else txn.to_dict()
    kind = _MOVEMENT_KIND.get(data.get("reporting_category") or "")
    source = data.get("source")
    intent = source.get("payment_intent") if isinstance(source, dict) else None
    if kind is None or not intent:
        return None
    intent_id = intent if isinstance(intent, str) else intent.get("id", "")
    return GatewayMovement(
        id=data["id"],
        charge_id=intent_id,
        kind=kind,
        amount_minor=int(data["amount"]),
        fee_minor=int(data.get("fee") or 0),
        currency=str(data["currency"]).upper(),
        created_at=datetime.fromtimestamp(data["created"], tz=UTC),
    )


def _quoted(value: str) -> str:
    """A value inside a Search Query Language string: quotes and backslashes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class StripeGateway:
    name = "stripe"
    signature_header = "Stripe-Signature"

    def __init__(self, *, api_key: str | None = None, api_base: str | None = None) -> None:
        self.client = stripe.StripeClient(
            api_key or settings.STRIPE_API_KEY or "sk_test_missing",
            base_addresses={"api": api_base or settings.STRIPE_API_BASE},
            max_network_retries=0,  # FlowMart retries itself, with the same idempotency key
            http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
        )

    def _do(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except stripe.StripeError as exc:
            raise _translate(exc) from exc

    def authorize(
        self,
        *,
        amount_minor: int,
        currency: str,
        payment_method: str,
        idempotency_key: str,
        description: str = "",
        metadata: dict[str, str] | None = None,
    ) -> GatewayCharge:
        intent = self._do(
            self.client.v1.payment_intents.create,
            params={
                "amount": amount_minor,
                "currency": currency.lower(),
                "payment_method": payment_method,
                "capture_method": "manual",
                "confirm": True,
                "description": description,
                "metadata": {**(metadata or {}), KEY_METADATA: idempotency_key},
                "payment_method_types": ["card"],
                "expand": ["latest_charge"],
            },
            options={"idempotency_key": idempotency_key},
        )
        return _charge(intent)

    def capture(self, *, charge_id: str, amount_minor: int, idempotency_key: str) -> GatewayCharge:
        intent = self._do(
            self.client.v1.payment_intents.capture,
            charge_id,
            params={"amount_to_capture": amount_minor, "expand": ["latest_charge"]},
            options={"idempotency_key": idempotency_key},
        )
        return _charge(intent)

    def void(self, *, charge_id: str, idempotency_key: str) -> GatewayCharge:
        intent = self._do(
            self.client.v1.payment_intents.cancel,
            charge_id,
            params={"expand": ["latest_charge"]},
            options={"idempotency_key": idempotency_key},
        )
        return _charge(intent)

    def refund(
        self, *, charge_id: str, amount_minor: int, idempotency_key: str, metadata: dict[str, str] | None = None
    ) -> GatewayRefund:
        params: dict[str, Any] = {"payment_intent": charge_id, "amount": amount_minor}
        if metadata:
            params["metadata"] = metadata
        refund = self._do(self.client.v1.refunds.create, params=params, options={"idempotency_key": idempotency_key})
        return GatewayRefund(id=refund.id, charge_id=charge_id, amount_minor=refund.amount, status=refund.status)

    def dispute_submit_evidence(
        self, *, dispute_ref: str, evidence: dict[str, str], idempotency_key: str
    ) -> GatewayDispute:
        # POST /v1/disputes/{id} (``stripe.Dispute.modify``): ``submit=True`` sends the evidence to the bank now.
        dispute = self._do(
            self.client.v1.disputes.update,
            dispute_ref,
            params={"evidence": evidence, "submit": True},
            options={"idempotency_key": idempotency_key},
        )
        return GatewayDispute(id=dispute.id, status=dispute.status)

    def movements(self, *, created_from: datetime, created_to: datetime) -> list[GatewayMovement]:
        page = self._do(
            self.client.v1.balance_transactions.list,
            params={
                "created": {"gte": int(created_from.timestamp()), "lt": int(created_to.timestamp())},
                "limit": 100,
                "expand": ["data.source"],
            },
        )
        found = (_movement(txn) for txn in page.auto_paging_iter())
        return [m for m in found if m is not None]

    def retrieve(self, *, charge_id: str) -> GatewayCharge:
        intent = self._do(self.client.v1.payment_intents.retrieve, charge_id, params={"expand": ["latest_charge"]})
        return _charge(intent)

    def list_charges(self, *, created_from: datetime, created_to: datetime) -> list[GatewayCharge]:
        page = self._do(
            self.client.v1.payment_intents.list,
            params={
                "created": {"gte": int(created_from.timestamp()), "lt": int(created_to.timestamp())},
                "limit": 100,
                "expand": ["data.latest_charge"],
            },
        )
        return [_charge(intent) for intent in page.auto_paging_iter()]

    def charge_for_key(self, *, idempotency_key: str) -> GatewayCharge | None:
        # Stripe's search is eventually consistent (an intent is searchable within about a minute): a miss right
        # after a lost answer is possible, and the stray-authorization sweep voids such an intent later.
        result = self._do(
            self.client.v1.payment_intents.search,
            params={"query": f"metadata[{_quoted(KEY_METADATA)}]:{_quoted(idempotency_key)}", "limit": 1},
        )
        return _charge(result.data[0]) if result.data else None

    def authorizations_held(self, *, created_before: datetime) -> list[GatewayCharge]:
        result = self._do(
            self.client.v1.payment_intents.search,
            # Stripe's ``created`` is in whole seconds: round up, so "before" includes the current second.
            params={
                "query": f"status:'requires_capture' AND created<{math.ceil(created_before.timestamp())}",
                "limit": 100,
            },
        )
        return [_charge(intent) for intent in result.auto_paging_iter()]

    def card_details(self, *, token: str) -> CardDetails:
        method = self._do(self.client.v1.payment_methods.retrieve, token)
        card = method.card
        if card is None:
            raise UnknownPaymentMethod("That payment method is not a card.")
        return CardDetails(
            token=method.id, brand=card.brand, last4=card.last4, exp_month=card.exp_month, exp_year=card.exp_year
        )

    def parse_webhook(self, *, payload: bytes, signature: str) -> WebhookMessage:
        webhook_timestamp_check(signature, tolerance=settings.PAYMENTS_WEBHOOK_TOLERANCE_SECONDS)
        try:
            event = stripe.Webhook.construct_event(
                payload.decode("utf-8"),
                signature,
                settings.STRIPE_WEBHOOK_SECRET,
                tolerance=settings.PAYMENTS_WEBHOOK_TOLERANCE_SECONDS,
            )
        except stripe.SignatureVerificationError as exc:
            raise WebhookSignatureError(str(exc)) from exc
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise WebhookSignatureError(f"malformed webhook: {exc.__class__.__name__}") from exc
        data = event.data.object
        return WebhookMessage(
            event_id=event.id, type=event.type, data=data.to_dict() if hasattr(data, "to_dict") else dict(data)
        )
