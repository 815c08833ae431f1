"""The migrations to the one transition log keep every row: an order's and a payment's history, written in
the old columns, read the same through the new models (orders' non-transitions now as notes), and back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orders.api.serializers import TransitionOutSerializer
from orders.models import Order
from orders.selectors import order_history
from payments import selectors as payment_selectors
from tests.kernel.schema import migrate, migrate_to_latest

# Each test migrates the whole schema back to before the migration under test and forward again: minutes, not
# the suite's five-minute limit for a test that hangs.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(1200)]

BEFORE = [("orders", "0004_order_refunds"), ("payments", "0002_finance_group")]
# After: every migration (whatever came last), since the test reads the migrated rows through today's models.
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def old_schema(schema_at):
    return schema_at(BEFORE)


def _old_order_history(apps, order_id) -> list[dict]:
    rows = apps.get_model("orders", "OrderTransition").objects.filter(order_id=order_id).order_by("at", "id")
    return [
        {
            "transition": t.transition,
            "from_status": t.from_status,
            "to_status": t.to_status,
            "actor": t.actor,
            "by_id": t.by_id,
            "reason": t.reason,
            "at": t.at,
        }
        for t in rows
    ]


def test_an_orders_history_reads_the_same_after_the_migration(old_schema, customer, staff_user):
    order = old_schema.get_model("orders", "Order").objects.create(
        number="FM-MIGRATE1", email=customer.email, currency="USD", shipping_method="standard", status="confirmed"
    )
    log = old_schema.get_model("orders", "OrderTransition")
    old = [  # (name, from, to, actor, by, reason, minutes after T0); amend and refund_issue_resolved are not moves
        ("confirm", "pending", "confirmed", "system", None, "stock reserved and payment authorized", 0),
        ("amend", "confirmed", "confirmed", "customer", customer.pk, "Enamel Mug: 2 → 1", 5),
        ("hold", "confirmed", "on_hold", "staff", staff_user.pk, "count the shelf", 10),
        ("refund_issue_resolved", "on_hold", "on_hold", "staff", staff_user.pk, "refund_rejected — called", 15),
        ("release_hold", "on_hold", "confirmed", "staff", staff_user.pk, "released by staff", 20),
    ]
    for name, source, target, actor, by_id, reason, minutes in old:
        log.objects.create(
            order_id=order.pk,
            transition=name,
            from_status=source,
            to_status=target,
            actor=actor,
            by_id=by_id,
            reason=reason,
            at=T0 + timedelta(minutes=minutes),
        )
    before = _old_order_history(old_schema, order.pk)

    migrate_to_latest()
    migrated = Order.objects.get(pk=order.pk)
    history = order_history(order=migrated)

    assert [
        {"transition": e.transition, "from_status": e.from_state, "to_status": e.to_state, "actor": e.actor}
        | {"by_id": e.by_id, "reason": e.reason, "at": e.at}
        for e in history
    ] == before
    api = TransitionOutSerializer(history, many=True).data  # the order page's API keeps its field names
    assert [(r["transition"], r["from_status"], r["to_status"], r["reason"]) for r in api] == [
        (b["transition"], b["from_status"], b["to_status"], b["reason"]) for b in before
    ]
    assert [t.transition for t in migrated.transitions.all()] == ["confirm", "hold", "release_hold"]
    assert [n.kind for n in migrated.notes.order_by("at")] == ["amend", "refund_issue_resolved"]

    assert _old_order_history(migrate(BEFORE), order.pk) == before  # and back again


def test_a_payments_history_reads_the_same_after_the_migration(old_schema, staff_user):
    payment = old_schema.get_model("payments", "Payment").objects.create(
        reference="order:FM-MIGRATE2",
        correlation_id="FM-MIGRATE2",
        amount_minor=5000,
        currency="USD",
        gateway="sandbox",
        payment_method="pm_card_visa",
        idempotency_key="migrate-2",
        status="captured",
    )
    log = old_schema.get_model("payments", "PaymentTransition")
    for source, target, by_id, reason, amount in [
        ("", "pending", None, "Payment initiated", 5000),
        ("pending", "authorized", None, "Authorized by the gateway", 5000),
        ("authorized", "captured", staff_user.pk, "Captured", 5000),
        ("captured", "captured", None, "Refund requested (waiting for Finance approval)", 1000),
    ]:
        log.objects.create(
            payment_id=payment.pk, from_status=source, to_status=target, by_id=by_id, reason=reason, amount_minor=amount
        )
    before = list(
        log.objects.filter(payment_id=payment.pk)
        .order_by("created_at", "id")
        .values_list("from_status", "to_status", "by_id", "reason", "amount_minor", "created_at")
    )

    migrate_to_latest()
    after = [
        (e.from_state, e.to_state, e.by_id, e.reason, e.columns["amount_minor"], e.at)
        for e in payment_selectors.payment_history(payment_id=payment.pk)
    ]

    assert after == before
    assert [e.actor for e in payment_selectors.payment_history(payment_id=payment.pk)] == [
        "system",
        "system",
        "staff",  # who acted, from who they were: the old log had no actor
        "system",
    ]
