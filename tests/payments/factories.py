"""Factories for the payments app: payments made through the real services and the sandbox gateway."""

from __future__ import annotations

import uuid

from payments import services


def authorized_payment(
    *, amount_minor: int = 10000, currency: str = "USD", payment_method: str = "pm_card_visa", **kwargs
) -> services.PaymentInfo:
    return services.payment_authorize(
        services.PaymentRequest(
            reference=kwargs.pop("reference", f"order:FM-{uuid.uuid4().hex[:8].upper()}"),
            amount_minor=amount_minor,
            currency=currency,
            payment_method=payment_method,
            idempotency_key=kwargs.pop("idempotency_key", f"test-{uuid.uuid4()}"),
            **kwargs,
        )
    )


def captured_payment(*, amount_minor: int = 10000, **kwargs) -> services.PaymentInfo:
    payment = authorized_payment(amount_minor=amount_minor, **kwargs)
    return services.payment_capture(payment_id=payment.id)
