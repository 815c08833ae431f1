"""What staff may do to a stock reservation (docs/staff.md §Staff actions)."""

from __future__ import annotations

from flowmart.staff.actions import StaffAction, staff_action_declare
from inventory import services
from inventory.models import Reservation

RELEASE = staff_action_declare(
    StaffAction(
        name="inventory.reservation.release",
        label="Release reservation",
        permission="inventory.release_reservation",
        model=Reservation,
        audit_fields=("state",),
        offered=lambda r: r.state == Reservation.State.ACTIVE,
        bulk=True,
        default_reason="released by staff",
        run=lambda r, *, by, reason, data: services.stock_release(reference=r.reference, reason=reason, by=by),
    )
)
