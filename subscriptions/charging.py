"""The one place subscriptions talks to ``payments``: charge an invoice, classify the answer.

Never called inside a database transaction (a gateway call must not hold
locks). Errors are classified by their machine-readable ``code`` from the
payments contract, so a declined card and a gateway outage lead to
different dunning decisions.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowmart.errors import FlowMartError
from payments import services as payment_services

DECLINED_CODES = {"payment_declined", "invalid_payment_method", "card_declined", "payment_failed"}
SUCCEEDED = "succeeded"
DECLINED = "declined"
UNAVAILABLE = "unavailable"
SUCCESS_STATUSES = {"captured", "succeeded", "paid", "authorized", "partially_refunded", "refunded"}


@dataclass(frozen=True)
class ChargeOutcome:
    status: str
    payment_id: str | None = None
    decline_code: str = ""
    error: FlowMartError | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED


def charge(request: payment_services.PaymentRequest) -> ChargeOutcome:
    try:
        info = payment_services.payment_charge(request)
    except FlowMartError as exc:
        if exc.code in DECLINED_CODES or exc.status in (400, 402):
            decline_code = str(getattr(exc, "decline_code", "") or exc.extra.get("decline_code") or exc.code)
            return ChargeOutcome(DECLINED, decline_code=decline_code, error=exc)
        return ChargeOutcome(UNAVAILABLE, error=exc)
    status = str(getattr(info, "status", SUCCEEDED))
    payment_id = str(info.id) if getattr(info, "id", None) else None
    if status in SUCCESS_STATUSES:
        return ChargeOutcome(SUCCEEDED, payment_id=payment_id)
    decline_code = str(getattr(info, "decline_code", "") or "payment_declined")
    return ChargeOutcome(DECLINED, payment_id=payment_id, decline_code=decline_code)
