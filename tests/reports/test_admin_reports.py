"""The reports page, its CSV downloads and the dashboard on the admin index, as staff see them."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

RANGE_QUERY = {"since": "2026-03-02", "until": "2026-03-15", "period": "week"}


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_reports_page_shows_the_figures_and_charts(client, report_viewer, seeded_shop):
    client.force_login(report_viewer)
    response = client.get(reverse("admin:reports_report_changelist"), RANGE_QUERY)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-figure="net-USD">$90.00<' in html
    assert 'data-figure="orders-USD">3<' in html
    assert 'data-figure="aov-USD">$30.00<' in html
    assert 'data-figure="delivery-rate">66.7%<' in html
    assert 'data-figure="csat">66.7%<' in html
    assert html.count('<svg class="report-chart"') == 3
    assert "Net revenue per week (USD)" in html
    assert reverse("admin:reports_report_csv", args=["sales"]) + "?since=2026-03-02" in html


def test_each_table_downloads_as_csv_for_the_filtered_range(client, report_viewer, seeded_shop):
    client.force_login(report_viewer)
    response = client.get(reverse("admin:reports_report_csv", args=["sales"]), RANGE_QUERY)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="sales-2026-03-02-2026-03-15.csv"'
    assert _csv(response) == [
        ["week", "currency", "orders", "gross", "refunded", "net", "average order (net)"],
        ["2026-03-02", "USD", "2", "82.50", "12.50", "70.00", "35.00"],
        ["2026-03-09", "USD", "1", "20.00", "0.00", "20.00", "20.00"],
    ]
    failures = client.get(reverse("admin:reports_report_csv", args=["delivery-failures"]), RANGE_QUERY)
    assert _csv(failures) == [["reason", "attempts"], ["Nobody home", "2"], ["Address not found", "1"]]
    assert client.get(reverse("admin:reports_report_csv", args=["nonsense"]), RANGE_QUERY).status_code == 404


def test_a_bad_range_is_a_form_error_not_a_500(client, report_viewer, seeded_shop):
    client.force_login(report_viewer)
    response = client.get(reverse("admin:reports_report_changelist"), {"since": "2026-03-15", "until": "2026-03-01"})
    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()
    response = client.get(reverse("admin:reports_report_changelist"), {"since": "yesterday"})
    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()


def test_staff_without_the_permission_get_neither_page_nor_dashboard(client, plain_staff, seeded_shop):
    client.force_login(plain_staff)
    assert client.get(reverse("admin:reports_report_changelist")).status_code == 403
    assert client.get(reverse("admin:reports_report_csv", args=["sales"])).status_code == 403
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert "reports-dashboard" not in index.content.decode()


def test_the_admin_index_shows_the_dashboard_to_report_viewers(client, report_viewer, seeded_shop):
    client.force_login(report_viewer)
    html = client.get(reverse("admin:index")).content.decode()
    assert 'id="reports-dashboard"' in html
    assert 'data-figure="attention"><a href="/admin/orders/orderneedingattention/">1</a>' in html
    assert 'data-figure="stock-alerts"><a href="/admin/inventory/lowstockitem/">1</a>' in html
