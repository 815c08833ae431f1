"""What staff may do to an order (docs/staff.md §Staff actions): one declaration each, used by the admin's
buttons and the staff API alike."""

from __future__ import annotations

from django import forms

from flowmart.staff.actions import StaffAction, staff_action_declare
from orders import services
from orders.models import Order, OrderStatus, SagaStatus

ORDER_AUDIT_FIELDS = ("status", "saga_status", "hold_reason", "failure_code", "refunded_minor")


class HoldForm(forms.Form):
    reason = forms.CharField(max_length=255, required=False, help_text="Told to the customer as the cause of delay")
    expected_delay_days = forms.IntegerField(min_value=0, max_value=60, required=False, initial=3)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=255, required=False)


def _order(**kwargs) -> StaffAction:
    return staff_action_declare(StaffAction(model=Order, audit_fields=ORDER_AUDIT_FIELDS, **kwargs))


CANCEL = _order(
    name="orders.order.cancel",
    label="Cancel (compensate)",
    permission="orders.cancel_order",
    offered=lambda o: o.can_staff_cancel() and o.status != OrderStatus.SHIPPED,
    form=ReasonForm,
    default_reason="cancelled by staff",
    run=lambda o, *, by, reason, data: services.order_cancel(
        order=o, by=by, actor="staff", reason=reason, dispatched_allowed=False
    ),
)
CANCEL_DISPATCHED = _order(
    name="orders.order.cancel_dispatched",
    label="Cancel after dispatch (compensate)",
    permission="orders.cancel_dispatched_order",
    offered=lambda o: o.can_staff_cancel() and o.status == OrderStatus.SHIPPED,
    form=ReasonForm,
    default_reason="cancelled by staff",
    run=lambda o, *, by, reason, data: services.order_cancel(order=o, by=by, actor="staff", reason=reason),
)
HOLD = _order(
    name="orders.order.hold",
    label="Put on hold",
    permission="orders.hold_order",
    offered=lambda o: o.status in (OrderStatus.CONFIRMED, OrderStatus.FULFILLING),
    form=HoldForm,
    default_reason="held by staff",
    run=lambda o, *, by, reason, data: services.order_hold(
        order=o, by=by, reason=reason, expected_delay_days=data.get("expected_delay_days") or 3
    ),
)
RELEASE_HOLD = _order(
    name="orders.order.release_hold",
    label="Release hold",
    permission="orders.hold_order",
    offered=lambda o: o.status == OrderStatus.ON_HOLD,
    form=ReasonForm,
    default_reason="released by staff",
    run=lambda o, *, by, reason, data: services.order_release_hold(order=o, by=by, reason=reason),
)
RESUME_SAGA = _order(
    name="orders.order.resume_saga",
    label="Resume / compensate stuck saga",
    permission="orders.repair_order",
    offered=lambda o: o.saga_status in (SagaStatus.RUNNING, SagaStatus.COMPENSATING),
    run=lambda o, *, by, reason, data: services.saga_resume(order=o),
)
SETTLE = _order(
    name="orders.order.settle",
    label="Retry capture + stock commit",
    permission="orders.repair_order",
    offered=lambda o: o.failure_code == "settle_failed",
    run=lambda o, *, by, reason, data: services.order_settle_retry(order=o),
)
REFUND_RESOLVED = _order(
    name="orders.order.refund_resolved",
    label="Refund issue dealt with (clear the flag)",
    permission="orders.resolve_refund_issue",
    offered=lambda o: o.failure_code in ("refund_rejected", "refund_failed"),
    form=ReasonForm,
    run=lambda o, *, by, reason, data: services.order_refund_issue_resolve(order=o, by=by, reason=reason),
)
FLAG_CLEAR = _order(
    name="orders.order.flag_clear",
    label="Issue dealt with (clear the flag)",
    # Support's: they contact the customer about an expired authorization or a parcel that left anyway; a
    # refund's flag (above) stays Finance's.
    permission="orders.clear_order_flag",
    offered=lambda o: o.failure_code in services.STAFF_CLEARED_FLAGS,
    form=ReasonForm,
    run=lambda o, *, by, reason, data: services.order_flag_clear(order=o, by=by, reason=reason),
)
