"""Changes to configuration and catalog reach the one audit log through a trigger on every pghistory event table,
in the transaction of the change: who, from where, why, the fields that changed; the staff action that made
them; events kept before the trigger existed are appended by its migration."""

from __future__ import annotations

from types import SimpleNamespace

import pghistory
import pytest
from django.db import connection, transaction
from pghistory.core import event_models
from rest_framework.test import APIClient

from flowmart.staff import change_log
from flowmart.staff.actions import StaffAction, staff_action_perform
from flowmart.staff.selectors import audit_log
from subscriptions.models import Tier
from tests.kernel.schema import migrate, migrate_to_latest
from tests.subscriptions.factories import TierFactory

pytestmark = pytest.mark.django_db


def tier_lines(tier) -> list[tuple]:
    return [
        (row.action, row.label, row.object_repr, row.before, row.after, row.actor_email, row.ip, row.outcome)
        for row in audit_log(object_type="subscriptions.tier", object_id=str(tier.pk)).order_by("id")
    ]


def test_every_tracked_models_event_table_has_the_trigger_in_the_database():
    tables = {model._meta.db_table for model in event_models()}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname LIKE 'pgtrigger_audit_log_%%' AND t.tgenabled = 'O'"
        )
        with_trigger = {name for (name,) in cursor.fetchall()}
    assert {"inventory_variantevent", "users_usergroupevent", "staff_grouppermissionevent"} <= tables
    assert tables - with_trigger == set()
    assert change_log.audit_log_feeds_checked() == []


def test_the_system_check_names_an_event_model_tracked_without_the_trigger(monkeypatch):
    untracked = SimpleNamespace(_meta=SimpleNamespace(label="shop.GiftCardEvent", triggers=[]))
    monkeypatch.setattr(change_log, "event_models", lambda: [*event_models(), untracked])
    [error] = change_log.audit_log_feeds_checked()
    assert (error.id, error.msg) == ("staff.E001", "shop.GiftCardEvent's events do not reach the audit log.")


def test_a_change_is_in_the_log_with_only_the_fields_that_changed(staff_user):
    tier = TierFactory(name="Plus", percent_off=10)
    with pghistory.context(user=staff_user.pk, ip="10.9.8.7", url="/admin/subscriptions/tier/1/change/"):
        Tier.objects.filter(pk=tier.pk).update(percent_off=15, description="spring")
    Tier.objects.filter(pk=tier.pk).delete()

    fields = {"id": tier.pk, "name": "Plus", "rank": 1, "free_shipping": True, "percent_off": 10}
    fields |= {"early_access": True, "description": ""}
    assert [line[:5] + line[7:] for line in tier_lines(tier)] == [
        ("subscriptions.tier.insert", "Created tier", "Plus", {}, fields, "done"),
        (
            "subscriptions.tier.update",
            "Changed tier",
            "Plus",
            {"percent_off": 10, "description": ""},
            {"percent_off": 15, "description": "spring"},
            "done",
        ),
        (
            "subscriptions.tier.delete",
            "Deleted tier",
            "Plus",
            fields | {"percent_off": 15, "description": "spring"},
            {},
            "done",
        ),
    ]
    update = audit_log(action="subscriptions.tier.update").get()
    assert (update.kind, update.actor_email, update.ip, update.source, update.url) == (
        "change",
        "staff@example.com",
        "10.9.8.7",
        "admin",
        "/admin/subscriptions/tier/1/change/",
    )


def test_a_change_rolled_back_leaves_no_line():
    tier = TierFactory(percent_off=10)
    with pytest.raises(RuntimeError), transaction.atomic():
        Tier.objects.filter(pk=tier.pk).update(percent_off=50)
        raise RuntimeError("the request failed after the change")
    assert [line[0] for line in tier_lines(tier)] == ["subscriptions.tier.insert"]


def test_an_address_that_is_not_one_keeps_the_change_without_it():
    tier = TierFactory(percent_off=10)
    with pghistory.context(ip="not-an-address"):
        Tier.objects.filter(pk=tier.pk).update(percent_off=20)
    assert Tier.objects.get(pk=tier.pk).percent_off == 20
    assert audit_log(action="subscriptions.tier.update").get().ip is None


def test_a_change_made_by_a_staff_action_names_the_action_and_its_entry(staff_member):
    manager = staff_member("Manager")
    tier = TierFactory(percent_off=10)

    def discount(obj, *, by, reason, data):
        Tier.objects.filter(pk=obj.pk).update(percent_off=25)

    action = StaffAction(
        name="subscriptions.tier.discount",
        label="Raise the discount",
        permission="subscriptions.change_tier",
        model=Tier,
        run=discount,
        audit_fields=("percent_off",),
    )
    staff_action_perform(action=action, obj=tier, by=manager, source="api", reason="spring")

    entry = audit_log(kind="action").get()
    change = audit_log(action="subscriptions.tier.update").get()
    assert (entry.before, entry.after, entry.outcome) == ({"percent_off": 10}, {"percent_off": 25}, "done")
    assert (change.actor, change.reason, change.data, change.after) == (
        manager,
        "spring",
        {"staff_action": "subscriptions.tier.discount", "audit_entry": entry.pk},
        {"percent_off": 25},
    )


def test_the_staff_api_lists_lines_by_their_integer_id(staff_member):
    finance = staff_member("Finance")
    tier = TierFactory(name="Gold")
    line = audit_log(object_type="subscriptions.tier", object_id=str(tier.pk)).get()
    api = APIClient()
    api.force_authenticate(finance)
    [row] = api.get(f"/api/v1/staff/audit-log/?kind=change&object_type=subscriptions.tier&object_id={tier.pk}").json()[
        "results"
    ]
    assert (row["id"], row["kind"], row["action"], row["object_repr"], row["outcome"]) == (
        line.pk,
        "change",
        "subscriptions.tier.insert",
        "Gold",
        "done",
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(1200)  # the schema goes back and forth: minutes
def test_changes_made_before_the_trigger_existed_are_in_the_log_after_its_migration(staff_user):
    old = migrate([("staff", "0003_audit_outcome_and_one_log")])
    try:
        tier = old.get_model("subscriptions", "Tier").objects.create(name="Legacy", percent_off=5)
        with pghistory.context(user=staff_user.pk, ip="10.1.2.3", reason="old price list"):
            old.get_model("subscriptions", "Tier").objects.filter(pk=tier.pk).update(percent_off=7)
    finally:
        migrate_to_latest()

    assert tier_lines(tier)[1] == (
        "subscriptions.tier.update",
        "Changed tier",
        "Legacy",
        {"percent_off": 5},
        {"percent_off": 7},
        "staff@example.com",
        "10.1.2.3",
        "done",
    )
    assert [line[0] for line in tier_lines(tier)] == ["subscriptions.tier.insert", "subscriptions.tier.update"]
    assert audit_log(action="subscriptions.tier.update").get().reason == "old price list"
    # Appended once: the same events are not appended again by a second run.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT staff_auditentry_append_events('subscriptions_tierevent', 'subscriptions.tier', "
            "'subscriptions.tier', 'pgh_obj_id', 'tier')"
        )
    assert len(tier_lines(tier)) == 2
