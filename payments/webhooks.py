"""Gateway webhooks: verify, record once by the gateway's event id, acknowledge, then process.

Refused with 400 (and logged): a missing, forged or stale signature (outside
``PAYMENTS_WEBHOOK_TOLERANCE_SECONDS``) and a replay (a delivery carrying
exactly the signature of one already received). A genuine redelivery of the
same event (new signature, same event id) is acknowledged and not processed
again. Processing runs after the acknowledgement, in a Celery task.
"""

from __future__ import annotations

import structlog
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from flowmart.errors import FlowMartError
from flowmart.task_queue import queue_after_commit
from payments import services
from payments.gateways import GATEWAY_NAMES, get_gateway
from payments.gateways.base import WebhookSignatureError
from payments.gateways.sandbox import SandboxGateway
from payments.models import WebhookEvent

log = structlog.get_logger(__name__)


class WebhookRejected(FlowMartError):
    code = "webhook_rejected"
    status = 400
    title = "Webhook refused"


class UnknownGateway(FlowMartError):
    code = "unknown_gateway"
    status = 404
    title = "No such payment gateway"


def webhook_receive(*, gateway: str, payload: bytes, signature: str) -> tuple[WebhookEvent, bool]:
    """Verify and record one webhook. Returns (event, is_new); processing is queued after commit."""
    if gateway not in GATEWAY_NAMES:
        raise UnknownGateway(f"No payment gateway called {gateway!r}.")
    adapter = get_gateway(gateway)
    if not signature:
        log.warning("payments webhook refused", gateway=gateway, problem="missing signature")
        raise WebhookRejected(f"Missing {adapter.signature_header} header.")
    try:
        message = adapter.parse_webhook(payload=payload, signature=signature)
    except WebhookSignatureError as exc:
        log.warning("payments webhook refused", gateway=gateway, problem=str(exc))
        raise WebhookRejected("The webhook signature is invalid or too old.") from exc

    existing = WebhookEvent.objects.filter(gateway=gateway, event_id=message.event_id).first()
    if existing is None:
        try:
            with transaction.atomic():
                event = WebhookEvent.objects.create(
                    gateway=gateway,
                    event_id=message.event_id,
                    type=message.type,
                    signature=signature[:500],
                    payload=message.data,
                )
                queue_after_commit(
                    "payments.tasks.process_webhook_task",
                    webhook_event_id=event.pk,
                    recovered_by="payments.tasks.process_pending_webhooks_task",
                )
            log.info("payments webhook received", gateway=gateway, event_id=message.event_id, type=message.type)
            return event, True
        except IntegrityError:
            existing = WebhookEvent.objects.get(gateway=gateway, event_id=message.event_id)
    if existing.signature == signature[:500]:
        log.warning("payments webhook refused", gateway=gateway, problem="replayed", event_id=message.event_id)
        raise WebhookRejected("This webhook delivery was already received (replay).")
    WebhookEvent.objects.filter(pk=existing.pk).update(deliveries=F("deliveries") + 1)
    log.info("payments webhook redelivered", gateway=gateway, event_id=message.event_id)
    return existing, False


def webhook_event_process(*, webhook_event_id: int) -> WebhookEvent:
    """Apply one recorded webhook to our books (once)."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=webhook_event_id)
        if event.status != WebhookEvent.Status.RECEIVED:
            return event
        data = event.payload
        try:
            with transaction.atomic():
                handled = _apply(event.gateway, event.type, data)
        except Exception as exc:
            log.exception("payments webhook processing failed", event_id=event.event_id)
            event.status = WebhookEvent.Status.FAILED
            event.error = f"{exc.__class__.__name__}: {exc}"[:2000]
        else:
            event.status = WebhookEvent.Status.PROCESSED if handled else WebhookEvent.Status.IGNORED
        event.processed_at = timezone.now()
        event.save(update_fields=["status", "error", "processed_at"])
    return event


def _fees(data: dict) -> tuple[int | None, int | None]:
    """(net loss, net fee) from a dispute's ``balance_transactions``, if it lists them: withdrawals are
    negative amounts with a positive fee, reinstatements the reverse."""
    txns = data.get("balance_transactions")
    if not isinstance(txns, list) or not txns:
        return None, None
    amounts = sum(int(t.get("amount") or 0) for t in txns if isinstance(t, dict))
    fees = sum(int(t.get("fee") or 0) for t in txns if isinstance(t, dict))
    return -amounts, fees


def _charge_of(data: dict) -> str:
    """Our "charge id" for Stripe is the PaymentIntent (the sandbox sends its charge id in both fields)."""
    return str(data.get("payment_intent") or data.get("charge") or "")


def _refunds_in(event_type: str, data: dict) -> list[dict]:
    if event_type == "refund.created":
        return [data]
    # charge.refunded: a Charge, its refunds listed when the API version includes them
    listed = (data.get("refunds") or {}).get("data") or []
    return [{**r, "payment_intent": r.get("payment_intent") or data.get("payment_intent")} for r in listed]


def _apply(gateway: str, event_type: str, data: dict) -> bool:
    if event_type == "charge.dispute.created":
        _, fee = _fees(data)
        services.dispute_open(
            gateway=gateway,
            charge_id=_charge_of(data),
            dispute_ref=str(data["id"]),
            amount_minor=int(data.get("amount") or 0),
            currency=str(data.get("currency") or ""),
            reason=str(data.get("reason") or ""),
            fee_minor=fee or 0,
        )
        return True
    if event_type == "charge.dispute.closed":
        status = data.get("status")
        if status not in ("won", "lost"):
            return False
        loss, fee = _fees(data)
        services.dispute_close(dispute_ref=str(data["id"]), won=status == "won", loss_minor=loss, fee_minor=fee)
        return True
    if event_type in ("refund.created", "charge.refunded"):
        booked = False
        for refund in _refunds_in(event_type, data):
            if refund.get("status") not in ("succeeded", "pending"):
                continue  # a failed or cancelled refund moved no money
            booked |= (
                services.refund_record_external(
                    gateway=gateway,
                    charge_id=_charge_of(refund),
                    refund_ref=str(refund["id"]),
                    amount_minor=int(refund.get("amount") or 0),
                    metadata=refund.get("metadata") or {},
                )
                is not None
            )
        return booked
    if event_type == "payment_intent.canceled":
        if data.get("cancellation_reason") != "automatic":
            return False  # cancelled by us (void) or by hand: nothing to learn
        return services.payment_authorization_expired(gateway=gateway, charge_id=str(data["id"])) is not None
    return False


def webhook_events_process_pending(*, limit: int = 500) -> int:
    ids = list(
        WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        webhook_event_process(webhook_event_id=pk)
    return len(ids)


def sandbox_dispute_send(*, charge_id: str, event_type: str, status: str, dispute_ref: str = "") -> WebhookEvent:
    """The sandbox's card network sends a signed dispute webhook through the normal verification path."""
    body, signature = SandboxGateway().dispute_webhook(
        charge_id=charge_id, event_type=event_type, status=status, dispute_id=dispute_ref
    )
    return sandbox_webhook_deliver(body, signature)


def sandbox_dispute_resolve(*, dispute_ref: str, charge_id: str, won: bool) -> WebhookEvent:
    """Sandbox only (the admin's "simulate" buttons): the bank's verdict arrives as a signed webhook."""
    return sandbox_dispute_send(
        charge_id=charge_id,
        event_type="charge.dispute.closed",
        status="won" if won else "lost",
        dispute_ref=dispute_ref,
    )


def sandbox_webhook_deliver(body: bytes, signature: str) -> WebhookEvent:
    """A signed sandbox webhook through the normal path: verified, recorded once, processed."""
    event, _ = webhook_receive(gateway="sandbox", payload=body, signature=signature)
    return webhook_event_process(webhook_event_id=event.pk)


def sandbox_disputes_decide() -> int:
    """The sandbox bank's decisions now due (beat ``payments-sandbox-disputes-decide``): each arrives as a signed
    ``charge.dispute.closed`` webhook. Returns how many were decided."""
    due = SandboxGateway().disputes_due()
    for dispute_ref, charge_id, won in due:
        sandbox_dispute_resolve(dispute_ref=dispute_ref, charge_id=charge_id, won=won)
    return len(due)


def sandbox_dashboard_refund(*, charge_id: str, amount_minor: int) -> WebhookEvent:
    """Sandbox only: someone refunds in the processor's dashboard; its ``refund.created`` webhook follows."""
    return sandbox_webhook_deliver(*SandboxGateway().dashboard_refund(charge_id=charge_id, amount_minor=amount_minor))


def sandbox_authorization_expire(*, charge_id: str) -> WebhookEvent:
    """Sandbox only: the processor drops an uncaptured hold (``payment_intent.canceled``, reason automatic)."""
    return sandbox_webhook_deliver(*SandboxGateway().authorization_expire(charge_id=charge_id))
