"""The errors payments answers with: each a problem document (code, status, title)."""

from __future__ import annotations

from flowmart.errors import Conflict, FlowMartError, NotFound


# -- errors a caller can act on ---------------------------------------------------------------
class PaymentDeclined(FlowMartError):
    code = "payment_declined"
    status = 402
    title = "The payment was declined"

    @property
    def decline_code(self) -> str:
        return str(self.extra.get("decline_code", ""))


class InvalidPaymentMethod(FlowMartError):
    code = "invalid_payment_method"
    status = 400
    title = "Invalid payment method"


class GatewayUnavailable(FlowMartError):
    code = "gateway_unavailable"
    status = 503
    title = "The payment provider is unavailable"


class GatewayRefused(FlowMartError):
    code = "gateway_refused"
    status = 409
    title = "The payment provider refused the request"


class InvalidAmount(FlowMartError):
    code = "invalid_amount"
    status = 400
    title = "Invalid amount"


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    title = "No such payment"


class RefundNotFound(NotFound):
    code = "refund_not_found"
    title = "No such refund"


class PaymentAbandoned(Conflict):
    code = "payment_abandoned"
    title = "The payment was abandoned"


class PaymentIdempotencyConflict(Conflict):
    # Not ``idempotency_key_reused``: that is the API's 422 for a reused Idempotency-Key header.
    code = "payment_idempotency_conflict"
    title = "This idempotency key was used for a different payment"


class RefundExceedsCaptured(Conflict):
    code = "refund_exceeds_captured"
    title = "Refund larger than what is left to refund"


class RefundNotPending(Conflict):
    code = "refund_not_pending"
    title = "This refund is not waiting for approval"


class RefundApprovalForbidden(FlowMartError):
    code = "finance_role_required"
    status = 403
    title = "Only Finance can approve or reject refunds"
    variants = {"refund_self_approval": "The person who asked for a refund cannot approve or reject it (four eyes)"}


class DisputeNotFound(NotFound):
    code = "dispute_not_found"
    title = "No such dispute"


class DisputeNotOpen(Conflict):
    code = "dispute_not_open"
    title = "This dispute takes no (more) evidence"


class DisputeEvidenceInvalid(FlowMartError):
    code = "dispute_evidence_invalid"
    status = 400
    title = "Invalid dispute evidence"
