"""The one audit log: staff actions and changes to configuration and catalog in one list (admin, CSV, staff API)
with who, when, what, before/after, IP and why; nobody can alter it (not through the admin, not even a superuser;
not in the database: triggers refuse UPDATE and DELETE); changes to configuration (a tier, a role's permissions,
who is staff) are kept by the history triggers with who, where from and what changed."""

from __future__ import annotations

import csv
import io
import json

import pghistory
import pytest
from django.contrib.auth.models import Group, Permission
from django.db import ProgrammingError, transaction
from django.http import StreamingHttpResponse
from django.test import Client
from rest_framework.test import APIClient

from flowmart.staff.models import AuditEntry, AuditOutcome, GroupPermissionEvent
from flowmart.staff.selectors import audit_log
from flowmart.staff.services import audit_entry_close, audit_entry_open
from inventory.models import Variant
from payments.models import Refund
from subscriptions.models import Tier, TierEvent
from tests.inventory.factories import ProductFactory, VariantFactory
from tests.payments.factories import captured_payment
from tests.subscriptions.factories import TierFactory

pytestmark = pytest.mark.django_db

LOG = "/admin/staff/auditentry/"


def entry(outcome: str | None = "done", **overrides) -> AuditEntry:
    fields = {
        "action": "orders.order.hold",
        "label": "Put on hold",
        "actor": None,
        "object_type": "orders.order",
        "object_id": "7",
        "object_repr": "FM-AAAA2222",
        "before": {"status": "confirmed"},
        "data": {},
        "reason": "count the shelf",
        "ip": "10.0.0.9",
        "source": "admin",
    }
    after = overrides.pop("after", {"status": "on_hold"})
    error_code = overrides.pop("error_code", "")
    row = audit_entry_open(**{**fields, **overrides})
    if outcome is not None:
        audit_entry_close(entry=row, outcome=outcome, after=after, error_code=error_code)
    return row


@pytest.fixture
def superuser_browser(staff_user) -> Client:
    client = Client()
    client.force_login(staff_user)
    return client


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def listed(client, query: str = "") -> str:
    """The rows of the log's list page (not its filter sidebar); "" when nothing matches."""
    page = client.get(f"{LOG}{query}").content.decode()
    return page[page.index("<tbody>") : page.index("</tbody>")] if "<tbody>" in page else ""


def csv_rows(response) -> list[dict]:
    assert isinstance(response, StreamingHttpResponse)
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_not_even_a_superuser_can_add_change_or_delete_an_entry_in_the_admin(superuser_browser):
    row = entry()
    url = f"{LOG}{row.pk}/change/"
    assert superuser_browser.get(LOG).status_code == 200
    page = superuser_browser.get(url).content.decode()
    assert "count the shelf" in page and 'name="_save"' not in page and "deletelink" not in page

    assert superuser_browser.post(url, {"reason": "edited"}).status_code == 403
    assert superuser_browser.post(url.replace("/change/", "/delete/"), {"post": "yes"}).status_code == 403
    assert superuser_browser.get(f"{LOG}add/").status_code == 403
    bulk = superuser_browser.post(LOG, {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"})
    assert bulk.status_code == 200  # no such action: Django shows the list again
    assert AuditEntry.objects.get(pk=row.pk).reason == "count the shelf"
    # pghistory's own pages are not there: there is one log to browse.
    assert superuser_browser.get("/admin/pghistory/events/").status_code == 404


def test_the_database_refuses_to_update_or_delete_an_entry_or_its_outcome():
    row = entry()
    for rows, change in (
        (AuditEntry.objects.filter(pk=row.pk), {"reason": "edited"}),
        (AuditOutcome.objects.filter(pk=row.pk), {"outcome": "refused"}),
    ):
        with pytest.raises(ProgrammingError, match="Cannot update or delete rows"), transaction.atomic():
            rows.update(**change)
        with pytest.raises(ProgrammingError, match="Cannot update or delete rows"), transaction.atomic():
            rows.delete()
    assert (AuditEntry.objects.get(pk=row.pk).reason, AuditOutcome.objects.get(pk=row.pk).outcome) == (
        "count the shelf",
        "done",
    )


def test_an_entry_has_one_outcome():
    row = entry()
    assert audit_entry_close(entry=row, outcome="interrupted", after={}) is None
    assert audit_log().get(pk=row.pk).outcome == "done"


def test_a_staff_member_with_lines_in_the_log_can_leave_and_the_lines_keep_their_email(staff_member):
    leaver = staff_member("Finance", "leaver@staff.example")
    row = entry(actor=leaver)
    with pghistory.context(user=leaver.pk):
        TierFactory(name="Leaver's tier")

    leaver.delete()

    assert {(line.kind, line.actor_email) for line in audit_log(actor_email="leaver@staff.example")} == {
        ("action", "leaver@staff.example"),
        ("change", "leaver@staff.example"),
    }
    assert audit_log().get(pk=row.pk).reason == "count the shelf"


def test_model_history_is_append_only_too():
    tier = TierFactory()
    event = TierEvent.objects.get(pgh_obj=tier)
    with pytest.raises(ProgrammingError, match="Cannot update or delete rows"), transaction.atomic():
        TierEvent.objects.filter(pk=event.pk).update(name="forged")
    with pytest.raises(ProgrammingError, match="Cannot update or delete rows"), transaction.atomic():
        TierEvent.objects.filter(pk=event.pk).delete()


def test_the_csv_export_streams_the_filtered_list(superuser_browser, staff_user):
    entry()
    entry(outcome="refused", error_code="invalid_transition", reason="", object_id="8", actor=staff_user)

    response = superuser_browser.get(f"{LOG}export.csv?outcome=refused")

    rows = csv_rows(response)
    assert list(rows[0]) == [
        "at",
        "kind",
        "actor_email",
        "action",
        "label",
        "object_type",
        "object_id",
        "object_repr",
        "outcome",
        "reason",
        "ip",
        "source",
        "url",
        "before",
        "after",
        "data",
        "error_code",
        "error_detail",
    ]
    assert [(r["actor_email"], r["action"], r["object_id"], r["outcome"], r["error_code"]) for r in rows] == [
        ("staff@example.com", "orders.order.hold", "8", "refused", "invalid_transition")
    ]
    listing = superuser_browser.get(f"{LOG}?outcome=refused").content.decode()
    assert "export.csv?outcome=refused" in listing


def test_an_entry_without_an_outcome_reads_as_unfinished_until_it_has_one(superuser_browser):
    row = entry(outcome=None)
    entry(object_id="8")
    assert audit_log().get(pk=row.pk).outcome == "unfinished"
    assert [e.pk for e in audit_log(outcome="unfinished")] == [row.pk]
    assert "FM-AAAA2222" in listed(superuser_browser, "?outcome=unfinished")

    audit_entry_close(entry=row, outcome="done", after={"status": "on_hold"})
    assert list(audit_log(outcome="unfinished")) == []
    assert listed(superuser_browser, "?outcome=unfinished") == ""


# -- one log: a price change in the admin and a refund through the staff API, side by side ------------------

PRODUCT_FORM = {
    "name": "Desk Lamp",
    "slug": "desk-lamp",
    "description": "",
    "attributes": "{}",
    "is_active": "on",
    "variants-TOTAL_FORMS": "1",
    "variants-INITIAL_FORMS": "1",
    "variants-0-sku": "LAMP-1",
    "variants-0-name": "Default",
    "variants-0-options": "{}",
    "variants-0-currency": "USD",
    "variants-0-weight_grams": "250",
    "variants-0-is_active": "on",
    "variants-0-position": "0",
    "images-TOTAL_FORMS": "0",
    "images-INITIAL_FORMS": "0",
}


@pytest.fixture
def price_change_and_refund(staff_member):
    """A Manager lowers a price in the admin, then Finance refunds an order through the staff API."""
    manager = staff_member("Manager", "manager@staff.example")
    finance = staff_member("Finance", "finance@staff.example")
    product = ProductFactory(name="Desk Lamp", slug="desk-lamp")
    variant = VariantFactory(product=product, sku="LAMP-1", price_minor=3000)
    response = browser(manager).post(
        f"/admin/inventory/product/{product.pk}/change/",
        {
            **PRODUCT_FORM,
            "category": product.category_id,
            "variants-0-id": variant.pk,
            "variants-0-product": product.pk,
            "variants-0-price_minor": "2500",
        },
        REMOTE_ADDR="10.9.8.7",
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Variant.objects.get(pk=variant.pk).price_minor == 2500

    payment = captured_payment(amount_minor=9000, reference="order:FM-ONELOG")
    api = APIClient(REMOTE_ADDR="10.1.1.1")
    api.force_authenticate(finance)
    refund = api.post(
        "/api/v1/staff/orders/FM-ONELOG/refund/",
        {"amount_minor": 1000, "reason": "damaged in transit"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="one-log",
    )
    assert refund.status_code == 200, refund.json()
    assert Refund.objects.get().status == "succeeded"
    return variant, payment, finance


def test_a_price_change_and_a_refund_are_in_one_list_the_csv_and_the_api(price_change_and_refund):
    variant, payment, finance = price_change_and_refund
    expected = [
        # newest first: the refund, then the price change
        (
            "action",
            "finance@staff.example",
            "payments.payment.refund",
            "payments.payment",
            str(payment.id),
            "10.1.1.1",
            "done",
        ),
        (
            "change",
            "manager@staff.example",
            "inventory.variant.update",
            "inventory.variant",
            str(variant.pk),
            "10.9.8.7",
            "done",
        ),
    ]
    columns = ("kind", "actor_email", "action", "object_type", "object_id", "ip", "outcome")
    mine = audit_log().filter(object_type__in=["payments.payment", "inventory.variant"])
    rows = [tuple(getattr(row, c) for c in columns) for row in mine.exclude(action="inventory.variant.insert")]
    assert rows == expected

    price = audit_log().get(action="inventory.variant.update")
    assert (price.before, price.after, price.source) == ({"price_minor": 3000}, {"price_minor": 2500}, "admin")
    refund = audit_log().get(action="payments.payment.refund")
    assert (refund.before["refunded_minor"], refund.after["refunded_minor"], refund.reason) == (
        0,
        1000,
        "damaged in transit",
    )

    client = browser(finance)  # Finance reads the log (staff.view_auditentry)
    listing = listed(client, "?object_type=inventory.variant")
    assert "manager@staff.example" in listing and "price_minor: 3000 → 2500" in listing
    listing = listed(client, "?object_type__in=payments.payment,inventory.variant")
    assert listing.index("finance@staff.example") < listing.index("price_minor: 3000 → 2500")  # one list, newest first

    exported = csv_rows(client.get(f"{LOG}export.csv?object_type__in=payments.payment,inventory.variant"))
    exported = [r for r in exported if r["action"] != "inventory.variant.insert"]
    assert [tuple(r[c] for c in columns) for r in exported] == expected
    assert (json.loads(exported[1]["before"]), json.loads(exported[1]["after"])) == (
        {"price_minor": 3000},
        {"price_minor": 2500},
    )

    api = APIClient()
    api.force_authenticate(finance)
    for kind, action in (("action", "payments.payment.refund"), ("change", "inventory.variant.update")):
        [row] = api.get(f"/api/v1/staff/audit-log/?kind={kind}&action={action}").json()["results"]
        assert (row["actor_email"], row["object_type"], row["outcome"]) == (
            {"action": "finance@staff.example", "change": "manager@staff.example"}[kind],
            {"action": "payments.payment", "change": "inventory.variant"}[kind],
            "done",
        )
    newest = api.get("/api/v1/staff/audit-log/").json()["results"][0]  # one endpoint, both kinds, newest first
    assert (newest["kind"], newest["action"]) == ("action", "payments.payment.refund")
    # A date that cannot be (30 February) is ignored like any unreadable one: the list, not a 500.
    impossible = api.get("/api/v1/staff/audit-log/?since=2026-02-30T00:00:00Z")
    assert (impossible.status_code, impossible.json()["results"][0]["id"]) == (200, newest["id"])


def test_the_one_list_filters_by_actor_object_type_action_kind_and_date_and_searches(
    price_change_and_refund, staff_member
):
    _, _, finance = price_change_and_refund
    client = browser(finance)
    by_actor = listed(client, "?actor_email=manager@staff.example")
    assert "price_minor: 3000 → 2500" in by_actor and "finance@staff.example" not in by_actor
    by_action = listed(client, "?action=payments.payment.refund")
    assert "finance@staff.example" in by_action and "manager@staff.example" not in by_action
    assert listed(client, "?at__gte=2000-01-01&at__lt=2000-01-02") == ""
    assert "finance@staff.example" in listed(client, "?at__gte=2000-01-01")
    by_kind = listed(client, "?kind__exact=change&object_type=inventory.variant")
    assert "price_minor: 3000 → 2500" in by_kind and "finance@staff.example" not in by_kind
    searched = listed(client, "?q=Damaged+TRANSIT")  # every word, any case, in actor, action, object or reason
    assert "finance@staff.example" in searched and "manager@staff.example" not in searched
    assert "price_minor: 3000 → 2500" in listed(client, "?q=manager@staff")
    # The sidebar offers the staff, object types and actions there are, not only those already in the log.
    sidebar = client.get(LOG).content.decode()
    for choice in (
        "?actor_email=manager%40staff.example",
        "?object_type=subscriptions.tier",
        "?action=orders.order.hold",
    ):
        assert choice in sidebar

    # A role without the log's permission does not see it.
    assert browser(staff_member("Support")).get(LOG).status_code == 403


def test_a_config_change_in_the_admin_is_kept_with_who_from_where_and_what(superuser_browser, staff_user):
    tier = TierFactory(percent_off=10)
    response = superuser_browser.post(
        f"/admin/subscriptions/tier/{tier.pk}/change/",
        {"name": "Plus", "rank": 1, "free_shipping": "on", "percent_off": 15, "early_access": "on", "description": ""},
        REMOTE_ADDR="10.9.8.7",
    )
    assert response.status_code == 302
    assert Tier.objects.get(pk=tier.pk).percent_off == 15

    change = TierEvent.objects.filter(pgh_obj=tier, pgh_label="update").get()
    assert change.percent_off == 15
    assert change.pgh_context.metadata == {
        "user": staff_user.pk,
        "url": f"/admin/subscriptions/tier/{tier.pk}/change/",
        "ip": "10.9.8.7",
    }
    before = TierEvent.objects.get(pgh_obj=tier, pgh_label="insert")
    assert before.percent_off == 10


def test_a_role_gaining_a_permission_is_kept():
    group = Group.objects.create(name="Night shift")
    permission = Permission.objects.get(content_type__app_label="orders", codename="hold_order")
    group.permissions.add(permission)
    group.permissions.remove(permission)
    assert list(
        GroupPermissionEvent.objects.filter(group_id=group.pk)
        .order_by("pgh_id")
        .values_list("pgh_label", "permission_id")
    ) == [("insert", permission.pk), ("delete", permission.pk)]
    link = {"group_id": group.pk, "permission_id": permission.pk}
    in_the_log = audit_log(object_type="auth.group", object_id=str(group.pk))
    assert sorted(
        (row.action, row.object_repr, {k: row.before.get(k) for k in link}, {k: row.after.get(k) for k in link})
        for row in in_the_log
    ) == [
        (
            "auth.group.insert",
            "Night shift",
            {"group_id": None, "permission_id": None},
            {"group_id": None, "permission_id": None},
        ),
        ("auth.group_permissions.delete", f"#{group.pk}", link, {"group_id": None, "permission_id": None}),
        ("auth.group_permissions.insert", f"#{group.pk}", {"group_id": None, "permission_id": None}, link),
    ]


def test_who_became_staff_is_kept_but_not_their_logins(customer):
    from django.utils import timezone

    from flowmart.users.models import UserAccessEvent

    customer.last_login = timezone.now()
    customer.save()
    customer.is_staff = True
    customer.save()
    assert list(
        UserAccessEvent.objects.filter(pgh_obj=customer).order_by("pgh_id").values_list("pgh_label", "is_staff")
    ) == [("insert", False), ("update", True)]
