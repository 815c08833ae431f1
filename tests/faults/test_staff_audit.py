"""A staff action's audit entry survives its process being killed (issue 14, docs/staff.md §Audit log): a refund
run through the one path in a child process, SIGKILLed after the refund committed (and the gateway refunded)
but before the outcome was written. The log still says who refunded what, from where and why; it reads as
unfinished until the sweeper, once no request could still be running it, closes it as interrupted with the
state it finds."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from flowmart.staff.actions import staff_actions_unfinished_close
from flowmart.staff.selectors import audit_log
from payments.gateways.sandbox import SandboxCharge
from payments.models import Refund
from tests.faults.processes_durable import StalledStaffAction
from tests.payments.factories import captured_payment

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_refund_killed_before_its_audit_outcome_is_still_in_the_log_with_who_and_what(staff_member):
    finance = staff_member("Finance", "finance@staff.example")
    payment = captured_payment(amount_minor=9000, reference="order:FM-KILLED1")
    refund = StalledStaffAction(
        action="payments.payment.refund",
        object_pk=payment.id,
        user_id=finance.pk,
        data={"amount_minor": 1500, "reason": "damaged in transit", "idempotency_key": str(uuid.uuid4())},
        ip="10.1.2.3",
    )

    refund.wait_after_the_service()
    refund.kill()

    # The money moved: at the gateway and in our books.
    assert SandboxCharge.objects.get().refunded_minor == 1500
    assert Refund.objects.get().status == "succeeded"
    # And the log says who did it, to what, from where and why; what came of it was not seen.
    [row] = audit_log(kind="action")
    assert (row.actor_email, row.action, row.object_type, row.object_id) == (
        "finance@staff.example",
        "payments.payment.refund",
        "payments.payment",
        str(payment.id),
    )
    assert (row.before["refunded_minor"], row.data["amount_minor"], row.reason, row.ip, row.source) == (
        0,
        1500,
        "damaged in transit",
        "10.1.2.3",
        "api",
    )
    assert (row.outcome, row.after) == ("unfinished", {})

    # Beat's sweep leaves it while a request could still be running it, then closes it with the state it finds.
    older_than = settings.STAFF_AUDIT_UNFINISHED_AFTER_SECONDS
    assert staff_actions_unfinished_close(older_than_seconds=older_than) == 0
    with time_machine.travel(timezone.now() + timedelta(seconds=older_than + 1)):
        assert staff_actions_unfinished_close(older_than_seconds=older_than) == 1
        assert staff_actions_unfinished_close(older_than_seconds=older_than) == 0
    row = audit_log(kind="action").get()
    assert (row.outcome, row.after["refunded_minor"], row.actor_email) == (
        "interrupted",
        1500,
        "finance@staff.example",
    )
