"""Commands of the payments app: everything that changes its state. The one door other apps, the API, the
admin, handlers and tasks use; the code lives in modules by use case: ``charges`` (authorize, charge,
capture, void), ``refunds`` (with Finance approval), ``disputes``, ``saved_methods``, ``recovery``, over
the shared ``steps`` (checks, history, the one way the gateway is called) and ``errors``.

The pattern of every money-moving command (docs/architecture.md §Transactions: no database
transaction is held open across a gateway call):

1. record our intent in a short transaction (a ``pending`` payment, a
   ``processing`` refund) and commit;
2. call the gateway outside any transaction, with an idempotency key derived
   from that record, retrying timeouts and 5xx with back-off (same key: the
   gateway answers the retry with the first answer, money moves once);
3. lock the record, apply the FSM transition, write the history row and
   publish the event, in one short transaction.
"""

from payments.charges import (
    PaymentRequest,
    payment_abandon,
    payment_authorization_expired,
    payment_authorize,
    payment_capture,
    payment_charge,
    payment_reauthorize,
    payment_void,
)
from payments.disputes import dispute_close, dispute_evidence_submit, dispute_open
from payments.errors import (
    DisputeEvidenceInvalid,
    DisputeNotFound,
    DisputeNotOpen,
    GatewayRefused,
    GatewayUnavailable,
    InvalidAmount,
    InvalidPaymentMethod,
    PaymentAbandoned,
    PaymentDeclined,
    PaymentIdempotencyConflict,
    PaymentNotFound,
    RefundApprovalForbidden,
    RefundExceedsCaptured,
    RefundNotFound,
    RefundNotPending,
)
from payments.recovery import payments_resume_stuck, payments_stray_authorizations_void
from payments.refunds import (
    FINANCE_GROUP,
    payment_refund,
    refund_approve,
    refund_record_external,
    refund_reject,
)
from payments.saved_methods import payment_method_attach, payment_method_detach
from payments.selectors import PaymentInfo, PaymentMethodInfo, RefundInfo, payment_methods_for_user

__all__ = [
    "FINANCE_GROUP",
    "DisputeEvidenceInvalid",
    "DisputeNotFound",
    "DisputeNotOpen",
    "GatewayRefused",
    "GatewayUnavailable",
    "InvalidAmount",
    "InvalidPaymentMethod",
    "PaymentAbandoned",
    "PaymentDeclined",
    "PaymentIdempotencyConflict",
    "PaymentInfo",
    "PaymentMethodInfo",
    "PaymentNotFound",
    "PaymentRequest",
    "RefundApprovalForbidden",
    "RefundExceedsCaptured",
    "RefundInfo",
    "RefundNotFound",
    "RefundNotPending",
    "dispute_close",
    "dispute_evidence_submit",
    "dispute_open",
    "payment_abandon",
    "payment_authorization_expired",
    "payment_authorize",
    "payment_capture",
    "payment_charge",
    "payment_method_attach",
    "payment_method_detach",
    "payment_methods_for_user",
    "payment_reauthorize",
    "payment_refund",
    "payment_void",
    "payments_resume_stuck",
    "payments_stray_authorizations_void",
    "refund_approve",
    "refund_record_external",
    "refund_reject",
]
