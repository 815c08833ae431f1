"""The audit log cannot be altered (not through the admin, not even by a superuser; not in the database: a
trigger refuses UPDATE and DELETE), staff browse and export it, and changes to configuration (a tier, a role's
permissions, who is staff) are kept by the history triggers with who, where from and what changed."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import ProgrammingError, transaction
from django.http import StreamingHttpResponse
from django.test import Client

from flowmart.staff.models import AuditEntry, GroupPermissionEvent
from flowmart.staff.services import audit_record
from subscriptions.models import Tier, TierEvent
from tests.subscriptions.factories import TierFactory

pytestmark = pytest.mark.django_db


def entry(**overrides) -> AuditEntry:
    fields = {
        "action": "orders.order.hold",
        "label": "Put on hold",
        "actor": None,
        "object_type": "orders.order",
        "object_id": "7",
        "object_repr": "FM-AAAA2222",
        "before": {"status": "confirmed"},
        "after": {"status": "on_hold"},
        "data": {},
        "reason": "count the shelf",
        "ip": "10.0.0.9",
        "source": "admin",
        "outcome": "done",
    }
    return audit_record(**{**fields, **overrides})


@pytest.fixture
def superuser_browser(staff_user) -> Client:
    client = Client()
    client.force_login(staff_user)
    return client


def test_not_even_a_superuser_can_add_change_or_delete_an_entry_in_the_admin(superuser_browser):
    row = entry()
    base = "/admin/staff/auditentry/"
    assert superuser_browser.get(base).status_code == 200
    page = superuser_browser.get(f"{base}{row.pk}/change/").content.decode()
    assert "count the shelf" in page and 'name="_save"' not in page and "deletelink" not in page

    assert superuser_browser.post(f"{base}{row.pk}/change/", {"reason": "edited"}).status_code == 403
    assert superuser_browser.post(f"{base}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert superuser_browser.get(f"{base}add/").status_code == 403
    bulk = superuser_browser.post(base, {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"})
    assert bulk.status_code == 200  # no such action: Django shows the list again
    assert AuditEntry.objects.get(pk=row.pk).reason == "count the shelf"


def test_the_database_refuses_to_update_or_delete_an_entry():
    row = entry()
    with pytest.raises(ProgrammingError, match="Cannot update or delete rows"), transaction.atomic():
        AuditEntry.objects.filter(pk=row.pk).update(reason="edited")
    with pytest.raises(ProgrammingError, match="Cannot update or delete rows"), transaction.atomic():
        AuditEntry.objects.filter(pk=row.pk).delete()
    assert AuditEntry.objects.get(pk=row.pk).reason == "count the shelf"


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

    response = superuser_browser.get("/admin/staff/auditentry/export-csv/?outcome__exact=refused")

    assert isinstance(response, StreamingHttpResponse)
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == (
        "at,actor_email,action,object_type,object_id,object_repr,outcome,reason,ip,source,before,after,data,"
        "error_code,error_detail"
    )
    assert len(lines) == 2
    assert lines[1].split(",")[1:8] == [
        "staff@example.com",
        "orders.order.hold",
        "orders.order",
        "8",
        "FM-AAAA2222",
        "refused",
        "",
    ]
    listing = superuser_browser.get("/admin/staff/auditentry/?outcome__exact=refused").content.decode()
    assert "/admin/staff/auditentry/export-csv/?outcome__exact=refused" in listing


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


def test_staff_browse_model_history_in_the_admin_read_only(superuser_browser):
    TierFactory(name="Gold")
    assert superuser_browser.get("/admin/pghistory/events/").status_code == 200
    # The roles migration's permission grants are history too: look at the tiers' history.
    listing = superuser_browser.get("/admin/pghistory/events/?model=subscriptions.Tier")
    assert listing.status_code == 200
    [event_url] = re.findall(
        r'href="(/admin/pghistory/events/subscriptions\.TierEvent[^"]+/change/)[^"]*"', listing.content.decode()
    )
    assert "Gold" in superuser_browser.get(event_url).content.decode()
    assert superuser_browser.get("/admin/pghistory/events/add/").status_code == 403
