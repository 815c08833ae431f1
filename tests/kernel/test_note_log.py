"""The migrations to the note logs keep every row: a payment's, a membership's and a reservation's history,
written with the old same-state transitions, read the same after (those rows now notes), and back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flowmart.history import history
from inventory.models import Reservation
from payments import selectors as payment_selectors
from subscriptions.models import Subscription
from tests.kernel.schema import migrate, migrate_to_latest

# Each test migrates the whole schema back to before the migration under test and forward again: minutes, not
# the suite's five-minute limit for a test that hangs.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(1200)]

BEFORE = [
    ("payments", "0003_one_transition_log"),
    ("subscriptions", "0004_one_transition_log"),
    ("inventory", "0003_one_transition_log"),
]
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
COLUMNS = ("transition", "from_state", "to_state", "actor", "by_id", "reason", "at")


@pytest.fixture
def old_schema(schema_at):
    return schema_at(BEFORE)


def _write(log, key: str, owner_pk, rows) -> None:
    """``rows``: (transition, from, to, actor, by_id, reason, minutes after T0[, amount_minor])."""
    for name, source, target, actor, by_id, reason, minutes, *amount in rows:
        columns = {"amount_minor": amount[0]} if amount else {}
        log.objects.create(
            **{key: owner_pk},
            transition=name,
            from_state=source,
            to_state=target,
            actor=actor,
            by_id=by_id,
            reason=reason,
            at=T0 + timedelta(minutes=minutes),
            **columns,
        )


def _old_history(apps, app_label: str, model: str, key: str, owner_pk, columns=COLUMNS) -> list[tuple]:
    rows = apps.get_model(app_label, model).objects.filter(**{key: owner_pk}).order_by("at", "id")
    return [tuple(getattr(t, c) for c in columns) for t in rows]


def test_a_payments_history_reads_the_same_after_its_notable_steps_become_notes(old_schema, staff_user):
    payment = old_schema.get_model("payments", "Payment").objects.create(
        reference="order:FM-NOTES1",
        correlation_id="FM-NOTES1",
        amount_minor=9000,
        currency="USD",
        gateway="sandbox",
        payment_method="pm_card_visa",
        idempotency_key="notes-1",
        status="chargeback_lost",
    )
    staff = staff_user.pk
    old = [  # (transition, from, to, actor, by, reason, minutes, amount_minor): payments' rows had no name
        ("", "", "pending", "system", None, "Payment initiated", 0, 9000),
        ("", "pending", "authorized", "system", None, "Authorized by the gateway", 1, 9000),
        ("", "authorized", "captured", "staff", staff, "Captured", 2, 9000),
        ("", "captured", "captured", "staff", staff, "Refund requested (waiting for Finance approval): dent", 3, 6000),
        ("", "captured", "captured", "staff", staff, "Refund rejected by Finance: not ours", 4, 6000),
        ("", "captured", "captured", "staff", staff, "Refund requested (sent to the gateway): mug", 5, 1000),
        ("", "captured", "partially_refunded", "staff", staff, "Refunded: mug", 6, 1000),
        (
            "",
            "partially_refunded",
            "partially_refunded",
            "staff",
            staff,
            "Refund requested (sent to the gateway): x",
            7,
            500,
        ),
        ("", "partially_refunded", "partially_refunded", "system", None, "Refund failed: card expired", 8, 500),
        ("", "partially_refunded", "partially_refunded", "staff", staff, "Refund approved by Finance", 9, 800),
        ("", "partially_refunded", "partially_refunded", "staff", staff, "Refunded: tee", 10, 800),  # FSM refund
        ("", "partially_refunded", "disputed", "system", None, "Chargeback opened: fraudulent", 11, 7200),
        ("", "disputed", "disputed", "staff", staff, "Refunded: late", 12, 200),
        ("", "disputed", "disputed", "system", None, "Chargeback opened: duplicate", 13, 7200),
        ("", "disputed", "chargeback_lost", "system", None, "Chargeback lost", 14, 7200),
        ("", "chargeback_lost", "chargeback_lost", "system", None, "Chargeback won", 15, 7200),
    ]
    _write(old_schema.get_model("payments", "PaymentTransition"), "payment_id", payment.pk, old)
    columns = ("from_state", "to_state", "actor", "by_id", "reason", "amount_minor", "at")
    before = _old_history(old_schema, "payments", "PaymentTransition", "payment_id", payment.pk, columns)

    migrate_to_latest()
    entries = payment_selectors.payment_history(payment_id=payment.pk)

    assert [
        (e.from_state, e.to_state, e.actor, e.by_id, e.reason, e.columns["amount_minor"], e.at) for e in entries
    ] == before
    assert [e.transition for e in entries if e.is_note] == [  # a note's kind names what happened
        "refund_requested",
        "refund_rejected",
        "refund_requested",
        "refund_requested",
        "refund_failed",
        "refund_approved",
        "refunded",
        "chargeback_opened",
        "chargeback_resolved",
    ]
    assert [e.reason for e in entries if not e.is_note] == [
        "Payment initiated",
        "Authorized by the gateway",
        "Captured",
        "Refunded: mug",
        "Refunded: tee",  # the FSM's refund ran: a transition, even though the state did not change
        "Chargeback opened: fraudulent",
        "Chargeback lost",
    ]

    back = migrate(BEFORE)
    assert _old_history(back, "payments", "PaymentTransition", "payment_id", payment.pk, columns) == before


def test_a_memberships_history_reads_the_same_after_its_non_transitions_become_notes(old_schema, customer, staff_user):
    tier = old_schema.get_model("subscriptions", "Tier").objects.create(name="Plus", rank=1)
    plans = old_schema.get_model("subscriptions", "Plan").objects
    monthly = plans.create(code="plus-monthly", name="Plus monthly", tier=tier, price_minor=999)
    sub = old_schema.get_model("subscriptions", "Subscription").objects.create(
        user_id=customer.pk,
        plan=monthly,
        status="cancelled",
        current_period_start=T0,
        current_period_end=T0 + timedelta(days=30),
        payment_method="pm_card_visa",
    )
    c, s = customer.pk, staff_user.pk
    old = [
        ("create", "", "incomplete", "customer", c, "", 0),
        ("activate", "incomplete", "active", "customer", c, "invoice INV-1 paid", 1),
        ("change_plan", "active", "active", "customer", c, "plus-monthly → plus-yearly; credit 500, charge 9000", 2),
        ("update_payment_method", "active", "active", "customer", c, "visa •••• 4242", 3),
        ("schedule_cancel", "active", "active", "customer", c, "ends 2026-12-20", 4),
        ("keep", "active", "active", "customer", c, "scheduled cancellation withdrawn", 5),
        ("pause", "active", "paused", "staff", s, "paused", 6),
        ("resume", "paused", "active", "staff", s, "paused for 1 day", 7),
        ("cancel", "active", "cancelled", "staff", s, "abuse", 8),
    ]
    _write(old_schema.get_model("subscriptions", "SubscriptionTransition"), "subscription_id", sub.pk, old)
    before = _old_history(old_schema, "subscriptions", "SubscriptionTransition", "subscription_id", sub.pk)

    migrate_to_latest()
    migrated = Subscription.objects.get(pk=sub.pk)
    entries = history(migrated)

    assert [tuple(getattr(e, c) for c in COLUMNS) for e in entries] == before
    assert [t.transition for t in migrated.transitions.order_by("at", "id")] == [
        "create",
        "activate",
        "pause",
        "resume",
        "cancel",
    ]
    assert [(n.kind, n.state) for n in migrated.notes.order_by("at", "id")] == [
        ("change_plan", "active"),
        ("update_payment_method", "active"),
        ("schedule_cancel", "active"),
        ("keep", "active"),
    ]

    back = migrate(BEFORE)
    assert _old_history(back, "subscriptions", "SubscriptionTransition", "subscription_id", sub.pk) == before


def test_a_reservations_amendments_become_notes(old_schema):
    record = old_schema.get_model("inventory", "Reservation").objects.create(
        reference="FM-NOTES3", expires_at=T0 + timedelta(minutes=30), state="committed"
    )
    old = [  # reservations' rows had no transition name for creation and amendments
        ("", "", "active", "system", None, "reserved", 0),
        ("", "active", "active", "system", None, "amended", 1),
        ("commit", "active", "committed", "system", None, "sold", 2),
    ]
    _write(old_schema.get_model("inventory", "ReservationTransition"), "reservation_id", record.pk, old)
    columns = COLUMNS[1:]
    before = _old_history(old_schema, "inventory", "ReservationTransition", "reservation_id", record.pk, columns)

    migrate_to_latest()
    migrated = Reservation.objects.get(pk=record.pk)

    assert [tuple(getattr(e, c) for c in columns) for e in history(migrated)] == before
    assert [(n.kind, n.state, n.text) for n in migrated.notes.all()] == [("amend", "active", "amended")]

    back = migrate(BEFORE)
    assert _old_history(back, "inventory", "ReservationTransition", "reservation_id", record.pk, columns) == before
