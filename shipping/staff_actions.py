"""What staff may do to shipments and returns (docs/staff.md §Staff actions)."""

from __future__ import annotations

from flowmart.staff.actions import StaffAction, staff_action_declare
from shipping import services
from shipping.forms import ReceiveForm, RejectForm, inspection_note
from shipping.models import ReturnRequest, Shipment

SHIPMENT_AUDIT_FIELDS = ("status", "tracking_number", "dispatched_at")
RETURN_AUDIT_FIELDS = ("status", "decision", "refund_minor", "staff_note", "return_tracking_number")


def _shipment(**kwargs) -> StaffAction:
    return staff_action_declare(StaffAction(model=Shipment, audit_fields=SHIPMENT_AUDIT_FIELDS, **kwargs))


def _return(**kwargs) -> StaffAction:
    return staff_action_declare(StaffAction(model=ReturnRequest, audit_fields=RETURN_AUDIT_FIELDS, **kwargs))


DISPATCH = _shipment(
    name="shipping.shipment.dispatch",
    label="Dispatch (handed to the carrier)",
    permission="shipping.dispatch_shipment",
    offered=lambda s: s.status == Shipment.Status.LABEL_CREATED,
    bulk=True,
    run=lambda s, *, by, reason, data: services.shipment_dispatch(shipment_number=s.number, by=by),
)
CANCEL = _shipment(
    name="shipping.shipment.cancel",
    label="Cancel shipment (not yet dispatched)",
    permission="shipping.cancel_shipment",
    offered=lambda s: s.status in Shipment.NOT_DISPATCHED,
    bulk=True,
    default_reason="Cancelled by staff",
    run=lambda s, *, by, reason, data: services.shipment_cancel(shipment_number=s.number, by=by, reason=reason),
)
APPROVE_RETURN = _return(
    name="shipping.returnrequest.approve",
    label="Approve return (issues a return label)",
    permission="shipping.decide_return",
    offered=lambda r: r.status == ReturnRequest.Status.REQUESTED,
    bulk=True,
    run=lambda r, *, by, reason, data: services.return_approve(rma_number=r.rma_number, by=by),
)
REJECT_RETURN = _return(
    name="shipping.returnrequest.reject",
    label="Reject return",
    permission="shipping.decide_return",
    offered=lambda r: r.status == ReturnRequest.Status.REQUESTED,
    form=RejectForm,
    run=lambda r, *, by, reason, data: services.return_reject(rma_number=r.rma_number, reason=reason, by=by),
)
RECEIVE_RETURN = _return(
    name="shipping.returnrequest.receive",
    label="Parcel received: inspect and decide",
    permission="shipping.receive_return",
    offered=lambda r: r.status == ReturnRequest.Status.APPROVED,
    form=ReceiveForm,
    run=lambda r, *, by, reason, data: services.return_receive(
        rma_number=r.rma_number,
        decision=data["decision"],
        replacement_skus=data["replacements"],
        inspection=services.return_inspection_per_sku(
            rma=r, conditions=data.get("conditions"), lines=data.get("lines")
        ),
        shop_at_fault=data.get("shop_at_fault"),
        note=inspection_note(data),
        by=by,
    ),
)
RETURN_ARRANGED = _shipment(
    name="shipping.shipment.return_arranged",
    label="Return arranged with the carrier (it refused the shop's instruction)",
    permission="shipping.dispatch_shipment",
    offered=lambda s: s.status == Shipment.Status.DELIVERY_FAILED,
    bulk=True,
    run=lambda s, *, by, reason, data: services.shipment_return_arranged(shipment_number=s.number, by=by),
)
CREATE_LABEL = _return(
    name="shipping.returnrequest.create_label",
    label="Create missing return label",
    permission="shipping.decide_return",
    offered=lambda r: r.status == ReturnRequest.Status.APPROVED and not r.return_tracking_number,
    bulk=True,
    run=lambda r, *, by, reason, data: services.return_create_label(rma_number=r.rma_number),
)
