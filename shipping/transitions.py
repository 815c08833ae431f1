"""Run a shipment's or a return's FSM transition, refusing in shipping's own words when it is not allowed;
``flowmart.transitions`` applies it and writes the log row (who, when, from, to, why).

Callers hold the row lock and the transaction; this only changes and records.
"""

from __future__ import annotations

from django_fsm import can_proceed

from flowmart.errors import InvalidTransition
from flowmart.transitions import transition_apply
from shipping.models import ReturnRequest, Shipment


def shipment_transition(shipment: Shipment, name: str, *, by=None, actor: str | None = None, reason: str = "", **kw):
    method = getattr(shipment, name)
    if not can_proceed(method):
        raise InvalidTransition(
            f"Shipment {shipment.number} cannot {name.replace('_', ' ')} while {shipment.status}.",
            shipment_number=shipment.number,
            status=shipment.status,
        )
    transition_apply(shipment, name, by=by, actor=actor, reason=reason, **kw)
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
    transition_apply(rma, name, by=by, actor=actor, reason=reason, **kw)
    return rma
