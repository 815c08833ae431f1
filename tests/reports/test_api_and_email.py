"""The same figures on the staff API and in the weekly summary email."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from reports import services
from tests.staff_roles import staff_roles_ensure
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/staff/reports/"


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_staff_api_answers_the_report(report_viewer, seeded_shop):
    assert reverse("staff-reports") == URL
    response = _client(report_viewer).get(URL, {"since": "2026-03-02", "until": "2026-03-15", "period": "month"})
    assert response.status_code == 200
    body = response.json()
    assert body["totals"] == [
        {
            "currency": "USD",
            "orders": 3,
            "gross_minor": 10250,
            "refunded_minor": 1250,
            "net_minor": 9000,
            "average_order_minor": 3000,
            "refunded_orders": 1,
            "refund_rate_percent": 33.3,
        }
    ]
    assert body["sales"] == [
        {
            "period": "2026-03-01",
            "currency": "USD",
            "orders": 3,
            "gross_minor": 10250,
            "refunded_minor": 1250,
            "net_minor": 9000,
            "average_order_minor": 3000,
        }
    ]
    assert body["processing"][0] == {"stage": "placed → labelled", "orders": 3, "p50_hours": 4.0, "p90_hours": 7.2}
    assert body["delivery"]["failures_by_reason"] == [
        {"reason": "Nobody home", "attempts": 2},
        {"reason": "Address not found", "attempts": 1},
    ]
    assert (body["returns"]["requested"], body["returns"]["return_rate_percent"]) == (2, 66.7)
    assert body["csat"]["series"] == [
        {"period": "2026-03-01", "responses": 3, "satisfied": 2, "csat_percent": 66.7, "average": 4.0}
    ]
    assert body["stock_alerts"]["count"] == 1
    assert body["orders_needing_attention"]["count"] == 1


def test_bad_dates_are_a_problem_document(report_viewer, db):
    response = _client(report_viewer).get(URL, {"since": "2026-03-15", "until": "2026-03-01"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == {"until": ["The end date is before the start date."]}
    assert _client(report_viewer).get(URL, {"period": "fortnight"}).json()["code"] == "invalid"


def test_customers_and_staff_without_the_permission_are_refused(customer, plain_staff):
    assert APIClient().get(URL).status_code == 401
    assert _client(customer).get(URL).status_code == 403
    assert _client(plain_staff).get(URL).status_code == 403


def test_the_endpoint_is_in_the_schema(client):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"][URL]["get"]
    # 429 and 503: what the kernel answers for every operation (rate limit, database outage).
    assert set(operation["responses"]) == {"200", "400", "401", "403", "429", "503"}
    assert {p["name"] for p in operation["parameters"]} == {"since", "until", "period"}


def test_the_weekly_summary_goes_to_managers_and_finance(seeded_shop):
    manager = UserFactory(email="manager@example.com", is_staff=True)
    manager.groups.add(Group.objects.get_or_create(name="Manager")[0])
    finance = UserFactory(email="finance@example.com", is_staff=True)
    finance.groups.add(Group.objects.get_or_create(name="Finance")[0])
    warehouse = UserFactory(email="warehouse@example.com", is_staff=True)
    warehouse.groups.add(Group.objects.get_or_create(name="Warehouse")[0])

    # Monday 9 March: the week before is 2–8 March (orders A and B).
    assert services.weekly_summary_send(today=dt.date(2026, 3, 9)) == 2

    assert sorted(m.to[0] for m in mail.outbox) == ["finance@example.com", "manager@example.com"]
    message = mail.outbox[0]
    assert message.subject == "FlowMart: week of 2 Mar – 8 Mar 2026"
    assert "Net revenue (USD): $70.00 from 2 orders (gross $82.50, refunded $12.50)" in message.body
    assert "Average order: $35.00; orders refunded: 50.0%" in message.body
    assert "Deliveries: 2 of 2 delivered (100.0%), 50.0% at the first attempt" in message.body
    assert "placed → labelled: p50 6.0 h, p90 7.6 h" in message.body
    assert "$70.00" in message.alternatives[0][0]


def test_finance_and_manager_may_see_the_reports(db):
    staff_roles_ensure()  # the migrations' groups (a transactional test may have flushed them)
    for name in ("Finance", "Manager"):
        user = UserFactory(email=f"{name.lower()}-member@example.com", is_staff=True)
        user.groups.add(Group.objects.get(name=name))
        assert user.has_perm("reports.view_reports")
        assert _client(user).get(URL).status_code == 200
