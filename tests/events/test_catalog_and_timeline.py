"""The event catalog (what staff and engineers read) and the per-flow timeline."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from flowmart.events.publisher import publish
from flowmart.events.selectors import timeline_for_correlation
from tests.testapp.events import SpineProbe


def test_catalog_export_as_json_lists_producer_consumers_and_payload_schema(db):
    out = StringIO()
    call_command("event_catalog", "--format", "json", stdout=out)
    catalog = {entry["name"]: entry for entry in json.loads(out.getvalue())}

    signed_up = catalog["UserSignedUp"]
    assert signed_up["producer"] == "users"
    assert signed_up["version"] == 1
    assert "notifications" in {c["app"] for c in signed_up["consumers"]}
    assert signed_up["payload_schema"]["properties"]["email"] == {"type": "string"}
    assert set(signed_up["payload_schema"]["required"]) == {"user_id", "email", "full_name"}

    confirmed = catalog["OrderConfirmed"]
    assert confirmed["producer"] == "orders"
    assert confirmed["payload_schema"]["properties"]["lines"]["type"] == "array"
    assert confirmed["payload_schema"]["properties"]["user_id"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}


def test_catalog_export_as_markdown(db, tmp_path):
    target = tmp_path / "catalog.md"
    call_command("event_catalog", "--format", "markdown", "--output", str(target), stdout=StringIO())
    text = target.read_text()
    assert text.startswith("# FlowMart event catalog")
    assert "| [UserSignedUp](#usersignedup) | 1 | users |" in text
    assert "## OrderConfirmed" in text


def test_staff_browse_the_catalog_and_customers_cannot(client, staff_user, customer):
    url = reverse("admin:events_catalog")
    client.force_login(customer)
    assert client.get(url).status_code == 302  # to the admin login

    client.force_login(staff_user)
    page = client.get(url)
    assert page.status_code == 200
    assert "UserSignedUp" in page.content.decode()
    assert "notifications.handlers" in page.content.decode()


def test_timeline_returns_one_flows_events_in_order(db):
    now = timezone.now()
    with transaction.atomic():
        publish(SpineProbe(correlation_id="FM-AAAA1111", key="second", occurred_at=now))
        publish(SpineProbe(correlation_id="FM-AAAA1111", key="first", occurred_at=now - timedelta(minutes=5)))
        publish(SpineProbe(correlation_id="FM-BBBB2222", key="elsewhere", occurred_at=now))

    timeline = timeline_for_correlation(correlation_id="FM-AAAA1111")
    assert [entry.payload["key"] for entry in timeline] == ["first", "second"]
    assert {entry.name for entry in timeline} == {"SpineProbe"}
    assert timeline[0].producer == "testapp"
