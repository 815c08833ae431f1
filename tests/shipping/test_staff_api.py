"""Returns and shipments on the staff API: Support approves or rejects returns, Warehouse receives them with a
condition per line and dispatches shipments; each is refused what the other role does."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from flowmart.staff.selectors import audit_log
from shipping import services
from shipping.models import ReturnRequest
from tests.shipping.test_pages import clock, delivered, labelled  # noqa: F401 (clock is a fixture)

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def return_requested(customer) -> ReturnRequest:
    return services.return_request(
        order_number="FM-TEST0001",
        user_id=str(customer.public_id),
        lines=[{"sku": "TEE-M-BLUE", "quantity": 1}],
        reason="too small",
    )


def test_support_approves_warehouse_receives_with_a_condition_per_line(staff_member, rates, customer, clock):  # noqa: F811
    delivered(clock, customer)
    rma = return_requested(customer)
    support, warehouse = api(staff_member("Support")), api(staff_member("Warehouse"))
    base = f"/api/v1/staff/returns/{rma.rma_number}"

    assert warehouse.post(f"{base}/approve/", {}, format="json").status_code == 403
    approved = support.post(f"{base}/approve/", {}, format="json")
    assert (approved.status_code, approved.json()["status"]) == (200, "approved")

    line = rma.lines.get()
    body = {
        "decision": "refund",
        "note": "box opened",
        "lines": [{"line_id": line.pk, "quantity": 1, "condition": "resellable"}],
    }
    assert support.post(f"{base}/receive/", body, format="json").status_code == 403
    received = warehouse.post(f"{base}/receive/", body, format="json")
    assert received.status_code == 200
    assert (received.json()["status"], received.json()["decision"]) == ("received", "refund")
    assert received.json()["staff_note"] == f"box opened\nline {line.pk} × 1: resellable"

    entry = audit_log(kind="action").get(action="shipping.returnrequest.receive")
    assert entry.data["lines"] == [{"line_id": line.pk, "quantity": 1, "condition": "resellable"}]
    assert (entry.before["status"], entry.after["status"], entry.source) == ("approved", "received", "api")


def test_receive_refuses_malformed_lines_with_a_problem(staff_member, rates, customer, clock):  # noqa: F811
    delivered(clock, customer)
    rma = return_requested(customer)
    services.return_approve(rma_number=rma.rma_number)
    r = api(staff_member("Warehouse")).post(
        f"/api/v1/staff/returns/{rma.rma_number}/receive/",
        {"decision": "refund", "lines": [{"line_id": "one", "quantity": 0}]},
        format="json",
    )
    assert r.status_code == 400
    assert (r["Content-Type"], list(r.json()["errors"])) == ("application/problem+json", ["lines"])
    assert ReturnRequest.objects.get(pk=rma.pk).status == "approved"


def test_support_rejects_with_a_reason_and_lists_returns(staff_member, rates, customer, clock):  # noqa: F811
    delivered(clock, customer)
    rma = return_requested(customer)
    support = api(staff_member("Support"))

    assert support.post(f"/api/v1/staff/returns/{rma.rma_number}/reject/", {}, format="json").status_code == 400
    rejected = support.post(f"/api/v1/staff/returns/{rma.rma_number}/reject/", {"reason": "worn"}, format="json")
    assert (rejected.json()["status"], rejected.json()["staff_note"]) == ("rejected", "worn")
    listed = support.get("/api/v1/staff/returns/?status=rejected").json()["results"]
    assert [r["rma_number"] for r in listed] == [rma.rma_number]
    assert audit_log(kind="action", outcome="done").get().reason == "worn"
    assert support.get("/api/v1/staff/returns/RMA-NOSUCH/").status_code == 404


def test_shipments_list_and_detail_for_staff_only(staff_member, customer, rates, clock):  # noqa: F811
    shipment = labelled(customer)
    warehouse = api(staff_member("Warehouse"))
    listed = warehouse.get("/api/v1/staff/shipments/?status=label_created").json()["results"]
    assert [s["number"] for s in listed] == [shipment.number]
    detail = warehouse.get(f"/api/v1/staff/shipments/{shipment.number}/").json()
    assert (detail["order_number"], detail["tracking_number"]) == (shipment.order_number, shipment.tracking_number)
    assert [line["sku"] for line in detail["lines"]] == [line.sku for line in shipment.lines.all()]

    customer_api = api(customer)
    assert customer_api.get("/api/v1/staff/shipments/").status_code == 403
    assert customer_api.get(f"/api/v1/staff/shipments/{shipment.number}/").status_code == 403


def test_warehouse_dispatches_in_bulk_in_the_admin_support_has_no_such_action(staff_member, customer, rates, clock):  # noqa: F811
    shipment = labelled(customer)
    warehouse, support = Client(), Client()
    warehouse.force_login(staff_member("Warehouse"))
    support.force_login(staff_member("Support"))

    assert 'value="staff_dispatch"' not in support.get("/admin/shipping/shipment/").content.decode()
    support.post("/admin/shipping/shipment/", {"action": "staff_dispatch", "_selected_action": [shipment.pk]})
    shipment.refresh_from_db()
    assert shipment.status == "label_created"

    assert 'value="staff_dispatch"' in warehouse.get("/admin/shipping/shipment/").content.decode()
    response = warehouse.post(
        "/admin/shipping/shipment/", {"action": "staff_dispatch", "_selected_action": [shipment.pk]}, follow=True
    )
    assert "Dispatch (handed to the carrier): 1 done." in response.content.decode()
    shipment.refresh_from_db()
    assert shipment.status == "dispatched"
    entry = audit_log(kind="action").get()
    assert (entry.action, entry.source, entry.before["status"], entry.after["status"]) == (
        "shipping.shipment.dispatch",
        "bulk",
        "label_created",
        "dispatched",
    )
