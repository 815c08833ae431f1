"""Recovery: finish what a crash interrupted, asking the gateway again with the same key."""

from __future__ import annotations

from datetime import timedelta

import structlog
from django.utils import timezone

from payments.charges import payment_send
from payments.errors import GatewayRefused, GatewayUnavailable
from payments.models import (
    Payment,
    PaymentStatus,
    Refund,
)
from payments.refunds import refund_execute

log = structlog.get_logger(__name__)


# -- recovery -----------------------------------------------------------------------------------
def payments_resume_stuck(*, older_than_minutes: int = 10) -> int:
    """Finish what a crash interrupted: payments still ``pending`` and refunds still ``processing``.

    The gateway is asked again with the same idempotency key, so it answers with
    what it did the first time (money never moves twice); the answer is then
    recorded and published as usual. Returns how many were resumed.
    """
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    resumed = 0
    for payment in Payment.objects.filter(status=PaymentStatus.PENDING, created_at__lt=cutoff):
        payment_send(payment, publish_success=True)
        resumed += 1
    for refund in Refund.objects.filter(status=Refund.Status.PROCESSING, updated_at__lt=cutoff).select_related(
        "payment"
    ):
        try:
            refund_execute(refund, by=None)
        except (GatewayUnavailable, GatewayRefused):
            log.warning("stuck refund could not be completed", refund_id=str(refund.id))
        resumed += 1
    return resumed
