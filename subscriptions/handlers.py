"""Reactions of the subscriptions app to other apps' events (autodiscovered)."""

from __future__ import annotations

from flowmart.events.registry import subscribe
from payments.events import PaymentProcessed
from subscriptions import services


@subscribe(PaymentProcessed)
def record_invoice_payment(event: PaymentProcessed) -> None:
    """A succeeded charge for a renewal invoice that the billing run did not record (it crashed) is recorded now."""
    if event.status == "succeeded" and event.reference.startswith("invoice:"):
        services.invoice_payment_reconcile(reference=event.reference, payment_id=event.payment_id)
