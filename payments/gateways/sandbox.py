"""The sandbox gateway: a card processor that lives in FlowMart's database.

It understands the test payment-method names developers know from Stripe
(``pm_card_visa``, ``pm_card_chargeDeclined``, …; the full table is in
``docs/payments.md``) and keeps its own books (``SandboxCharge``,
``SandboxRequest``) separate from FlowMart's ``Payment`` rows, so the two can
disagree and reconciliation can tell. It honours idempotency keys like a real
processor: the same key gets the same answer and money moves once.

Its webhooks are shaped and signed like Stripe's (``t=…,v1=…`` HMAC-SHA256)
and arrive through the same verification path as real ones.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from flowmart.task_queue import queue_after_commit
from payments.gateways.base import (
    KEY_METADATA,
    CardDeclined,
    CardDetails,
    GatewayCharge,
    GatewayDispute,
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
from payments.models import PaymentMovement, SandboxCharge, SandboxDispute, SandboxMovement, SandboxRequest

TIMEOUT_TOKEN = "pm_card_sandboxTimeout"  # noqa: S105
UNAVAILABLE_TOKEN = "pm_card_sandboxUnavailable"  # noqa: S105
DISPUTE_TOKEN = "pm_card_createDispute"  # noqa: S105
# Stripe's test-mode rule for dispute evidence, kept by the sandbox: this text in the evidence loses the dispute
# (``winning_evidence``, or any other evidence, wins it).
LOSING_EVIDENCE = "losing_evidence"


@dataclass(frozen=True)
class TestCard:
    brand: str
    # The card number people type into the storefront's card element
    # (static/payments/sandbox-elements.js turns it into this token in the browser).
    number: str
    decline_code: str = ""
    exp_month: int = 12
    exp_year: int = 2034

    @property
    def last4(self) -> str:
        return self.number[-4:]


# Stripe's test payment methods (https://docs.stripe.com/testing) plus two sandbox-only ones.
TEST_CARDS: dict[str, TestCard] = {
    "pm_card_visa": TestCard("visa", "4242424242424242"),
    "pm_card_visa_debit": TestCard("visa", "4000056655665556"),
    "pm_card_mastercard": TestCard("mastercard", "5555555555554444"),
    "pm_card_mastercard_debit": TestCard("mastercard", "5200828282828210"),
    "pm_card_mastercard_prepaid": TestCard("mastercard", "5105105105105100"),
    "pm_card_amex": TestCard("amex", "371449635398431"),
    "pm_card_discover": TestCard("discover", "6011111111111117"),
    "pm_card_diners": TestCard("diners", "3056930009020004"),
    "pm_card_jcb": TestCard("jcb", "3566002020360505"),
    "pm_card_unionpay": TestCard("unionpay", "6200000000000005"),
    "pm_card_chargeDeclined": TestCard("visa", "4000000000000002", decline_code="generic_decline"),
    "pm_card_chargeDeclinedInsufficientFunds": TestCard("visa", "4000000000009995", decline_code="insufficient_funds"),
    "pm_card_chargeDeclinedExpiredCard": TestCard("visa", "4000000000000069", decline_code="expired_card"),
    DISPUTE_TOKEN: TestCard("visa", "4000000000000259"),
    TIMEOUT_TOKEN: TestCard("visa", "4000002500003155"),
    UNAVAILABLE_TOKEN: TestCard("visa", "4000000000000341"),
}

DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
}


def _new_id(prefix: str) -> str:
    return f"{prefix}_sbx_{uuid.uuid4().hex[:24]}"


def _charge_dict(charge: SandboxCharge) -> dict[str, Any]:
    card = TEST_CARDS.get(charge.payment_method)
    return {
        "id": charge.id,
        "status": charge.status,
        "amount_minor": charge.amount_minor,
        "captured_minor": charge.captured_minor,
        "refunded_minor": charge.refunded_minor,
        "currency": charge.currency,
        "brand": card.brand if card else "",
        "last4": card.last4 if card else "",
        "created_at": charge.created_at.isoformat(),
        "metadata": dict(charge.metadata),
    }


def _to_charge(data: dict[str, Any]) -> GatewayCharge:
    return GatewayCharge(
        id=data["id"],
        status=data["status"],
        amount_minor=data["amount_minor"],
        captured_minor=data["captured_minor"],
        refunded_minor=data["refunded_minor"],
        currency=data["currency"],
        brand=data["brand"],
        last4=data["last4"],
        created_at=datetime.fromisoformat(data["created_at"]),
        metadata=dict(data.get("metadata") or {}),
    )


def _raise_for_error(response: dict[str, Any]) -> None:
    error = response.get("error")
    if not error:
        return
    if error["type"] == "card_error":
        raise CardDeclined(error["message"], decline_code=error["decline_code"], charge_id=error.get("charge_id", ""))
    if error["code"] == "invalid_payment_method":
        raise UnknownPaymentMethod(error["message"])
    raise GatewayRequestRefused(error["message"], code=error["code"])


def _refused(code: str, message: str) -> dict[str, Any]:
    return {"error": {"type": "invalid_request_error", "code": code, "message": message}}


def sign_payload(payload: bytes, *, secret: str, timestamp: int | None = None) -> str:
    """A Stripe-style signature header (``t=<unix>,v1=<hex hmac-sha256 of "t.payload">``)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class SandboxGateway:
    name = "sandbox"
    signature_header = "Sandbox-Signature"

    # -- idempotency: the processor's side ------------------------------------
    def _call(self, *, operation: str, key: str, params: dict[str, Any], payment_method: str, perform) -> dict:
        if payment_method == UNAVAILABLE_TOKEN:
            raise GatewayServerError("sandbox: 503 Service Unavailable (pm_card_sandboxUnavailable)")
        fingerprint = hashlib.sha256(json.dumps([operation, params], sort_keys=True).encode()).hexdigest()
        timed_out = False
        try:
            with transaction.atomic():
                # The work and its record commit together, the record written once with its answer: a concurrent
                # request with the same key waits on the unique key, rolls its own work back and replays ours.
                request = SandboxRequest.objects.create(
                    idempotency_key=key,
                    operation=operation,
                    fingerprint=fingerprint,
                    response=perform(),
                    timeouts_served=1 if payment_method == TIMEOUT_TOKEN else 0,
                )
            timed_out = request.timeouts_served == 1  # only the request that did the work loses its answer
        except IntegrityError:
            request = SandboxRequest.objects.get(idempotency_key=key)
            if request.fingerprint != fingerprint:
                return _refused(
                    "idempotency_key_reused", "Keys for idempotent requests can only be used with the same parameters."
                )
        if timed_out:
            # The work is done and recorded, but the answer is "lost": the caller must retry with the same key.
            raise GatewayTimeout(f"sandbox: {operation} timed out (pm_card_sandboxTimeout)")
        return request.response

    def _charge_method(self, charge_id: str) -> str:
        charge = SandboxCharge.objects.filter(pk=charge_id).only("payment_method").first()
        return charge.payment_method if charge else ""

    # -- the gateway interface ------------------------------------------------
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
        def perform() -> dict:
            card = TEST_CARDS.get(payment_method)
            if card is None:
                return {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "invalid_payment_method",
                        "message": "No such payment method. Use a token such as pm_card_visa.",
                    }
                }
            charge = SandboxCharge.objects.create(
                id=_new_id("ch"),
                payment_method=payment_method,
                amount_minor=amount_minor,
                currency=currency,
                status="failed" if card.decline_code else "authorized",
                description=description[:200],
                metadata={**(metadata or {}), KEY_METADATA: idempotency_key},
                created_at=timezone.now(),
            )
            if card.decline_code:
                return {
                    "error": {
                        "type": "card_error",
                        "code": "card_declined",
                        "decline_code": card.decline_code,
                        "message": DECLINE_MESSAGES[card.decline_code],
                        "charge_id": charge.id,
                    }
                }
            return _charge_dict(charge)

        params = {"amount": amount_minor, "currency": currency, "payment_method": payment_method}
        response = self._call(
            operation="authorize", key=idempotency_key, params=params, payment_method=payment_method, perform=perform
        )
        _raise_for_error(response)
        return _to_charge(response)

    def capture(self, *, charge_id: str, amount_minor: int, idempotency_key: str) -> GatewayCharge:
        def perform() -> dict:
            charge = SandboxCharge.objects.select_for_update().filter(pk=charge_id).first()
            if charge is None:
                return _refused("resource_missing", f"No such charge: {charge_id}")
            if charge.status != "authorized":
                return _refused("charge_not_capturable", f"This charge is {charge.status} and cannot be captured.")
            if charge.created_at <= timezone.now() - timedelta(days=settings.PAYMENTS_AUTHORIZATION_VALID_DAYS):
                # Like a real processor, the hold lapsed after PAYMENTS_AUTHORIZATION_VALID_DAYS: nothing to take.
                return _refused(
                    "charge_expired_for_capture",
                    "The authorization expired before it was captured; authorize again.",
                )
            if amount_minor > charge.amount_minor:
                return _refused("amount_too_large", "Cannot capture more than was authorized.")
            charge.status = "captured"
            charge.captured_minor = amount_minor
            charge.save(update_fields=["status", "captured_minor"])
            _movement(charge, kind=PaymentMovement.Kind.CAPTURE, amount_minor=amount_minor)
            if charge.payment_method == DISPUTE_TOKEN:
                # The card network opens the dispute a little later, as a signed webhook.
                queue_after_commit(
                    "payments.tasks.sandbox_dispute_webhook_task",
                    charge_id=charge.id,
                    countdown=settings.PAYMENTS_SANDBOX_DISPUTE_DELAY_SECONDS,
                    recovered_by="nothing: the sandbox's simulated dispute is skipped",
                )
            return _charge_dict(charge)

        response = self._call(
            operation="capture",
            key=idempotency_key,
            params={"charge": charge_id, "amount": amount_minor},
            payment_method=self._charge_method(charge_id),
            perform=perform,
        )
        _raise_for_error(response)
        return _to_charge(response)

    def void(self, *, charge_id: str, idempotency_key: str) -> GatewayCharge:
        def perform() -> dict:
            charge = SandboxCharge.objects.select_for_update().filter(pk=charge_id).first()
            if charge is None:
                return _refused("resource_missing", f"No such charge: {charge_id}")
            if charge.status != "authorized":
                return _refused("charge_not_voidable", f"This charge is {charge.status} and cannot be voided.")
            charge.status = "voided"
            charge.save(update_fields=["status"])
            return _charge_dict(charge)

        response = self._call(
            operation="void",
            key=idempotency_key,
            params={"charge": charge_id},
            payment_method=self._charge_method(charge_id),
            perform=perform,
        )
        _raise_for_error(response)
        return _to_charge(response)

    def refund(
        self, *, charge_id: str, amount_minor: int, idempotency_key: str, metadata: dict[str, str] | None = None
    ) -> GatewayRefund:
        def perform() -> dict:
            charge = SandboxCharge.objects.select_for_update().filter(pk=charge_id).first()
            if charge is None:
                return _refused("resource_missing", f"No such charge: {charge_id}")
            if charge.status != "captured":
                return _refused("charge_not_refundable", f"This charge is {charge.status} and cannot be refunded.")
            if amount_minor > charge.captured_minor - charge.refunded_minor:
                return _refused("amount_too_large", "Refund amount exceeds what is left on the charge.")
            charge.refunded_minor += amount_minor
            charge.save(update_fields=["refunded_minor"])
            refund_id = _new_id("re")
            _movement(charge, kind=PaymentMovement.Kind.REFUND, amount_minor=-amount_minor, source_ref=refund_id)
            return {"id": refund_id, "charge_id": charge.id, "amount_minor": amount_minor, "status": "succeeded"}

        response = self._call(
            operation="refund",
            key=idempotency_key,
            params={"charge": charge_id, "amount": amount_minor},
            payment_method=self._charge_method(charge_id),
            perform=perform,
        )
        _raise_for_error(response)
        return GatewayRefund(**response)

    def dispute_submit_evidence(
        self, *, dispute_ref: str, evidence: dict[str, str], idempotency_key: str
    ) -> GatewayDispute:
        def perform() -> dict:
            dispute = SandboxDispute.objects.select_for_update().filter(pk=dispute_ref).first()
            if dispute is None:
                return _refused("resource_missing", f"No such dispute: {dispute_ref}")
            if dispute.status != "needs_response":
                return _refused("dispute_already_submitted", f"This dispute is {dispute.status}.")
            dispute.status = "under_review"
            dispute.evidence = dict(evidence)
            dispute.decide_at = timezone.now() + timedelta(seconds=settings.PAYMENTS_SANDBOX_DISPUTE_DECISION_SECONDS)
            dispute.save(update_fields=["status", "evidence", "decide_at"])
            return {"id": dispute.id, "status": dispute.status}

        dispute = SandboxDispute.objects.filter(pk=dispute_ref).select_related("charge").first()
        response = self._call(
            operation="dispute_update",
            key=idempotency_key,
            params={"dispute": dispute_ref, "evidence": evidence},
            payment_method=dispute.charge.payment_method if dispute else "",
            perform=perform,
        )
        _raise_for_error(response)
        return GatewayDispute(id=response["id"], status=response["status"])

    def movements(self, *, created_from: datetime, created_to: datetime) -> list[GatewayMovement]:
        rows = SandboxMovement.objects.filter(created_at__gte=created_from, created_at__lt=created_to).select_related(
            "charge"
        )
        return [
            GatewayMovement(
                id=m.id,
                charge_id=m.charge_id,
                kind=m.kind,
                amount_minor=m.amount_minor,
                fee_minor=m.fee_minor,
                currency=m.charge.currency,
                created_at=m.created_at,
            )
            for m in rows.order_by("created_at", "id")
        ]

    def retrieve(self, *, charge_id: str) -> GatewayCharge:
        charge = SandboxCharge.objects.filter(pk=charge_id).first()
        if charge is None:
            raise GatewayRequestRefused(f"No such charge: {charge_id}", code="resource_missing")
        return _to_charge(_charge_dict(charge))

    def list_charges(self, *, created_from: datetime, created_to: datetime) -> list[GatewayCharge]:
        charges = SandboxCharge.objects.filter(created_at__gte=created_from, created_at__lt=created_to).order_by(
            "created_at"
        )
        return [_to_charge(_charge_dict(c)) for c in charges]

    def charge_for_key(self, *, idempotency_key: str) -> GatewayCharge | None:
        charge = SandboxCharge.objects.filter(**{f"metadata__{KEY_METADATA}": idempotency_key}).first()
        return _to_charge(_charge_dict(charge)) if charge else None

    def authorizations_held(self, *, created_before: datetime) -> list[GatewayCharge]:
        charges = SandboxCharge.objects.filter(status="authorized", created_at__lt=created_before)
        return [_to_charge(_charge_dict(c)) for c in charges]

    def card_details(self, *, token: str) -> CardDetails:
        card = TEST_CARDS.get(token)
        if card is None:
            raise UnknownPaymentMethod("No such payment method. Use a token such as pm_card_visa.")
        return CardDetails(
            token=token, brand=card.brand, last4=card.last4, exp_month=card.exp_month, exp_year=card.exp_year
        )

    # -- webhooks ---------------------------------------------------------------
    def parse_webhook(self, *, payload: bytes, signature: str) -> WebhookMessage:
        webhook_timestamp_check(signature, tolerance=settings.PAYMENTS_WEBHOOK_TOLERANCE_SECONDS)
        try:
            stripe.WebhookSignature.verify_header(
                payload.decode("utf-8"),
                signature,
                settings.SANDBOX_WEBHOOK_SECRET,
                settings.PAYMENTS_WEBHOOK_TOLERANCE_SECONDS,
            )
            event = json.loads(payload)
            return WebhookMessage(
                event_id=str(event["id"]), type=str(event["type"]), data=dict(event["data"]["object"])
            )
        except stripe.SignatureVerificationError as exc:
            raise WebhookSignatureError(str(exc)) from exc
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise WebhookSignatureError(f"malformed webhook: {exc.__class__.__name__}") from exc

    def dispute_webhook(
        self, *, charge_id: str, event_type: str, status: str, dispute_id: str = ""
    ) -> tuple[bytes, str]:
        """A signed ``charge.dispute.*`` webhook for one of the sandbox's charges: (body, signature header).

        The card network's books move with it: opening withdraws the amount and the dispute fee
        (``PAYMENTS_SANDBOX_DISPUTE_FEE_MINOR``), a win gives both back. The dispute object lists them as
        ``balance_transactions``, like Stripe's."""
        with transaction.atomic():
            charge = SandboxCharge.objects.select_for_update().get(pk=charge_id)
            dispute, created = SandboxDispute.objects.get_or_create(
                id=dispute_id or f"dp_sbx_{charge.id.removeprefix('ch_sbx_')}",
                defaults={
                    "charge": charge,
                    "amount_minor": charge.captured_minor,
                    "fee_minor": settings.PAYMENTS_SANDBOX_DISPUTE_FEE_MINOR,
                    "status": "needs_response",
                    "created_at": timezone.now(),
                },
            )
            if created:
                _movement(
                    charge,
                    kind=PaymentMovement.Kind.DISPUTE_WITHDRAWAL,
                    amount_minor=-dispute.amount_minor,
                    fee_minor=dispute.fee_minor,
                    source_ref=dispute.id,
                )
            if status in ("won", "lost") and dispute.status not in ("won", "lost"):
                dispute.status = status
                dispute.save(update_fields=["status"])
                if status == "won":
                    _movement(
                        charge,
                        kind=PaymentMovement.Kind.DISPUTE_REINSTATEMENT,
                        amount_minor=dispute.amount_minor,
                        fee_minor=-dispute.fee_minor,
                        source_ref=dispute.id,
                    )
            balance = [
                {"id": m.id, "amount": m.amount_minor, "fee": m.fee_minor, "type": "adjustment"}
                for m in dispute.charge.movements.filter(source_ref=dispute.id).order_by("created_at", "id")
            ]
        return _signed_event(
            event_type,
            {
                "id": dispute.id,
                "object": "dispute",
                "charge": charge.id,
                "payment_intent": charge.id,
                "amount": dispute.amount_minor,
                "currency": charge.currency.lower(),
                "reason": "fraudulent",
                "status": status,
                "balance_transactions": balance,
            },
        )

    def disputes_due(self) -> list[tuple[str, str, bool]]:
        """The bank's decisions now due: (dispute id, charge id, won) for each dispute under review whose
        decision time passed. ``LOSING_EVIDENCE`` in the evidence loses it; any other evidence wins it."""
        due = SandboxDispute.objects.filter(status="under_review", decide_at__lte=timezone.now())
        return [
            (d.id, d.charge_id, LOSING_EVIDENCE not in json.dumps(d.evidence)) for d in due.order_by("decide_at", "id")
        ]

    def dashboard_refund(self, *, charge_id: str, amount_minor: int) -> tuple[bytes, str]:
        """Someone refunds in the processor's dashboard: the money goes back, then a signed ``refund.created``
        webhook arrives (no FlowMart metadata on it)."""
        refund = self.refund(charge_id=charge_id, amount_minor=amount_minor, idempotency_key=_new_id("dash"))
        charge = SandboxCharge.objects.get(pk=charge_id)
        return _signed_event(
            "refund.created",
            {
                "id": refund.id,
                "object": "refund",
                "charge": charge.id,
                "payment_intent": charge.id,
                "amount": amount_minor,
                "currency": charge.currency.lower(),
                "status": "succeeded",
                "metadata": {},
            },
        )

    def authorization_expire(self, *, charge_id: str) -> tuple[bytes, str]:
        """The processor drops a hold nobody captured in time: ``payment_intent.canceled``, reason automatic."""
        with transaction.atomic():
            charge = SandboxCharge.objects.select_for_update().get(pk=charge_id)
            if charge.status == "authorized":
                charge.status = "voided"
                charge.save(update_fields=["status"])
        return _signed_event(
            "payment_intent.canceled",
            {
                "id": charge.id,
                "object": "payment_intent",
                "amount": charge.amount_minor,
                "currency": charge.currency.lower(),
                "status": "canceled",
                "cancellation_reason": "automatic",
                "metadata": dict(charge.metadata),
            },
        )


def _movement(
    charge: SandboxCharge, *, kind: str, amount_minor: int, fee_minor: int = 0, source_ref: str = ""
) -> SandboxMovement:
    return SandboxMovement.objects.create(
        id=_new_id("txn"),
        charge=charge,
        kind=kind,
        amount_minor=amount_minor,
        fee_minor=fee_minor,
        source_ref=source_ref,
        created_at=timezone.now(),
    )


def _signed_event(event_type: str, data_object: dict[str, Any]) -> tuple[bytes, str]:
    event = {
        "id": _new_id("evt"),
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": data_object},
    }
    body = json.dumps(event).encode()
    return body, sign_payload(body, secret=settings.SANDBOX_WEBHOOK_SECRET)
