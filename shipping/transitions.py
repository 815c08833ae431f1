"""Run an FSM transition and write it to the object's transition log (who, when, from, to, why).

Callers hold the row lock and the transaction; this only changes and records.
"""

from __future__ import annotations

from django_fsm import can_proceed

from flowmart.errors import InvalidTransition
from shipping.models import ReturnRequest, ReturnTransition, Shipment, ShipmentTransition


def _actor(by, actor: str | None) -> str:
    if actor:
        return actor
    if by is None:
        return "system"
    return "staff" if getattr(by, "is_staff", False) else "customer"


def _by(by):
    return by if getattr(by, "pk", None) is not None else None


def shipment_transition(shipment: Shipment, name: str, *, by=None, actor: str | None = None, reason: str = "", **kw):
    method = getattr(shipment, name)
    if not can_proceed(method):
        raise InvalidTransition(
            f"Shipment {shipment.number} cannot {name.replace('_', ' ')} while {shipment.status}.",
            shipment_number=shipment.number,
            status=shipment.status,
        )
    from_state = shipment.status
    method(**kw)
    shipment.save()
    ShipmentTransition.objects.create(
        shipment=shipment,
        from_state=from_state,
        to_state=shipment.status,
        by=_by(by),
        actor=_actor(by, actor),
        reason=reason[:255],
    )
    return shipment


_RETURN_VERBS = {
    "approve": "approved",
    "reject": "rejected",
    "receive": "received",
    "mark_refunded": "marked refunded",
    "mark_exchanged": "marked exchanged",
}


def return_transition(rma: ReturnRequest, name: str, *, by=None, actor: str | None = None, reason: str = "", **kw):
    method = getattr(rma, name)
    if not can_proceed(method):
        raise InvalidTransition(
            f"Return {rma.rma_number} cannot be {_RETURN_VERBS.get(name, name)} while {rma.status}.",
            rma_number=rma.rma_number,
            status=rma.status,
        )
    from_state = rma.status
    method(**kw)
    rma.save()
    ReturnTransition.objects.create(
        return_request=rma,
        from_state=from_state,
        to_state=rma.status,
        by=_by(by),
        actor=_actor(by, actor),
        reason=reason[:255],
    )
    return rma
