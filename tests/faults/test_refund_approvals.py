"""A staff refund above the approval threshold, approved by two Finance members at the same moment (docs/payments.md
§Refunds): exactly one refund reaches the gateway, once.

Real threads started together, each on its own database connection: one approver clicks *Approve refund* in the
admin's queue of refunds waiting for Finance, the other approves through the staff API. Several rounds, so the
two requests interleave in more than one way.
"""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from flowmart.events.models import OutboxEvent
from flowmart.staff.models import AuditEntry
from payments import selectors, services
from payments.models import Refund, SandboxCharge, SandboxRequest
from tests.payments.factories import captured_payment
from tests.threads import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5
AMOUNT_MINOR = 60000  # above the threshold (500.00)


def test_two_approvers_at_once_send_exactly_one_refund_to_the_gateway(settings, staff_member):
    settings.REFUND_APPROVAL_THRESHOLD_MINOR = 50000
    payment = captured_payment(amount_minor=ROUNDS * AMOUNT_MINOR, reference="order:FM-TWOCLICK")
    asker = staff_member("Finance", "alice@staff.example")
    in_admin, in_api = Client(), APIClient()
    in_admin.force_login(staff_member("Finance", "bob@staff.example"))
    in_api.force_authenticate(staff_member("Finance", "carol@staff.example"))

    for n in range(ROUNDS):
        waiting = services.payment_refund(
            payment_id=payment.id,
            amount_minor=AMOUNT_MINOR,
            reason=f"parcel {n} lost",
            requested_by=asker,
            idempotency_key=f"two-click-{n}",
        )
        assert waiting.status == "pending_approval"

        admin_click, api_call = run_in_threads(
            2,
            lambda i, refund_id=waiting.id: (
                in_admin.post(
                    "/admin/payments/pendingrefund/",
                    {"action": "staff_approve", "_selected_action": [str(refund_id)]},
                    follow=True,  # back to the queue, which shows the action's messages
                )
                if i == 0
                else in_api.post(f"/api/v1/staff/refunds/{refund_id}/approve/", {}, format="json")
            ),
        )

        # One approval went through, whichever came first; the other approver is told it did not.
        [winner] = AuditEntry.objects.filter(
            action="payments.refund.approve", object_id=str(waiting.id), result__outcome="done"
        ).values_list("actor_email", flat=True)
        refund = Refund.objects.get(pk=waiting.id)
        assert (refund.status, refund.decided_by.email) == ("succeeded", winner)
        if winner == "carol@staff.example":
            assert (api_call.status_code, api_call.json()["status"]) == (200, "succeeded")
        else:
            assert (api_call.status_code, api_call.json()["code"]) == (409, "refund_not_pending")
        told = [str(m) for m in admin_click.context["messages"]]
        assert ("Approve refund: 1 done." in told) == (winner == "bob@staff.example"), told

    # The gateway's own books: one refund request per refund, and the money back once.
    assert SandboxRequest.objects.filter(operation="refund").count() == ROUNDS
    assert SandboxCharge.objects.get().refunded_minor == ROUNDS * AMOUNT_MINOR
    assert list(Refund.objects.values_list("status", flat=True).distinct()) == ["succeeded"]
    assert OutboxEvent.objects.filter(name="PaymentRefunded").count() == ROUNDS
    info = selectors.payment_get(payment_id=payment.id)
    assert (info.status, info.refunded_minor) == ("refunded", ROUNDS * AMOUNT_MINOR)
