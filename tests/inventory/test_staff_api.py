"""Staff stock API: per-warehouse figures and ledgered adjustments; customers are refused."""

from inventory import selectors
from inventory.models import StockMovement


def test_stock_per_warehouse(staff_client, stock_up):
    stock_up("TEE-M", east=5, west=2)
    from inventory import services
    from inventory.services import StockLine

    services.stock_reserve(reference="FM-1", lines=[StockLine("TEE-M", 4)])

    response = staff_client.get("/api/v1/inventory/stock/", {"sku": "TEE-M"})

    assert response.status_code == 200
    assert [(r["warehouse_code"], r["on_hand"], r["reserved"], r["available"]) for r in response.json()] == [
        ("east", 5, 4, 1),
        ("west", 2, 0, 2),
    ]


def test_stock_errors(staff_client, stock_up):
    assert staff_client.get("/api/v1/inventory/stock/").status_code == 400
    response = staff_client.get("/api/v1/inventory/stock/", {"sku": "NOPE"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_customers_and_anonymous_are_refused(customer_client, api_client, stock_up):
    stock_up("TEE-M", east=5)
    assert customer_client.get("/api/v1/inventory/stock/", {"sku": "TEE-M"}).status_code == 403
    body = {"sku": "TEE-M", "warehouse": "east", "quantity": 3, "reason": "receipt"}
    assert customer_client.post("/api/v1/inventory/adjustments/", body).status_code == 403
    assert api_client.post("/api/v1/inventory/adjustments/", body).status_code in (401, 403)
    assert selectors.available_quantity(sku="TEE-M") == 5


def test_adjustment_is_recorded_with_reason_and_author(staff_client, staff_user, stock_up):
    stock_up("TEE-M", east=5)

    response = staff_client.post(
        "/api/v1/inventory/adjustments/",
        {"sku": "TEE-M", "warehouse": "east", "quantity": -2, "reason": "adjustment", "note": "water damage"},
        HTTP_IDEMPOTENCY_KEY="adj-1",
    )
    replay = staff_client.post(
        "/api/v1/inventory/adjustments/",
        {"sku": "TEE-M", "warehouse": "east", "quantity": -2, "reason": "adjustment", "note": "water damage"},
        HTTP_IDEMPOTENCY_KEY="adj-1",
    )

    assert response.status_code == 201
    assert response.json()["levels"][0]["on_hand"] == 3
    assert replay.status_code == 201
    assert selectors.available_quantity(sku="TEE-M") == 3
    movement = StockMovement.objects.filter(reason="adjustment").get()
    assert (movement.quantity, movement.note, movement.created_by) == (-2, "water damage", staff_user)


def test_bad_adjustments_are_problem_details(staff_client, stock_up):
    stock_up("TEE-M", east=5)
    cases = [
        ({"sku": "TEE-M", "warehouse": "east", "quantity": 0}, 400, "invalid"),
        ({"sku": "TEE-M", "warehouse": "east", "quantity": 1, "reason": "stolen"}, 400, "invalid"),
        ({"sku": "NOPE", "warehouse": "east", "quantity": 1}, 400, "unknown_sku"),
        ({"sku": "TEE-M", "warehouse": "mars", "quantity": 1}, 400, "unknown_warehouse"),
        ({"sku": "TEE-M", "warehouse": "east", "quantity": -6}, 409, "insufficient_stock"),
    ]
    for body, status, code in cases:
        response = staff_client.post("/api/v1/inventory/adjustments/", body)
        assert (response.status_code, response.json()["code"]) == (status, code), body
    assert selectors.available_quantity(sku="TEE-M") == 5


def test_only_the_warehouse_role_adjusts_stock(staff_member, stock_up):
    from rest_framework.test import APIClient

    stock_up("TEE-M", east=5)
    body = {"sku": "TEE-M", "warehouse": "east", "quantity": 3, "reason": "receipt"}
    support, warehouse = APIClient(), APIClient()
    support.force_authenticate(staff_member("Support"))
    warehouse.force_authenticate(staff_member("Warehouse"))

    refused = support.post("/api/v1/inventory/adjustments/", body, HTTP_IDEMPOTENCY_KEY="s-1")
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    assert support.get("/api/v1/inventory/stock/", {"sku": "TEE-M"}).status_code == 403
    assert warehouse.post("/api/v1/inventory/adjustments/", body, HTTP_IDEMPOTENCY_KEY="w-1").status_code == 201
    assert selectors.available_quantity(sku="TEE-M") == 8
