from __future__ import annotations

from notifications.models import Device
from tests.notifications.factories import DeviceFactory, NotificationFactory


def test_register_a_push_device(customer_client, customer):
    response = customer_client.post(
        "/api/v1/devices/", {"token": "fcm:abc123", "platform": "ios", "name": "Casey's iPhone"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["token"], body["platform"], body["name"]) == ("fcm:abc123", "ios", "Casey's iPhone")
    assert Device.objects.get(token="fcm:abc123").user == customer


def test_registering_own_token_again_reactivates_it(customer_client, customer):
    DeviceFactory(user=customer, token="my-token", is_active=False, name="Casey's iPhone")

    response = customer_client.post("/api/v1/devices/", {"token": "my-token", "platform": "ios"}, format="json")

    assert response.status_code == 200
    assert (response.json()["name"], Device.objects.get(token="my-token").is_active) == ("Casey's iPhone", True)


def test_another_accounts_token_is_neither_moved_nor_revealed(customer_client, other_customer):
    DeviceFactory(user=other_customer, token="shared-token", platform="ios", name="Robin's iPhone")

    response = customer_client.post("/api/v1/devices/", {"token": "shared-token", "platform": "android"}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "device_token_taken"
    assert "Robin" not in response.content.decode()
    device = Device.objects.get(token="shared-token")
    assert (device.user, device.platform, device.name) == (other_customer, "ios", "Robin's iPhone")


def test_invalid_device_is_a_problem(customer_client):
    response = customer_client.post("/api/v1/devices/", {"token": "", "platform": "nokia"}, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"token", "platform"}


def test_delete_own_device_only(customer_client, customer, other_customer):
    DeviceFactory(user=customer, token="mine")
    DeviceFactory(user=other_customer, token="theirs")

    assert customer_client.delete("/api/v1/devices/theirs/").status_code == 404
    assert customer_client.delete("/api/v1/devices/mine/").status_code == 204
    assert list(Device.objects.values_list("token", flat=True)) == ["theirs"]


def test_devices_need_a_login(api_client):
    assert api_client.post("/api/v1/devices/", {"token": "t", "platform": "ios"}, format="json").status_code == 401


def test_notification_history_lists_only_own(customer_client, customer, other_customer):
    mine = NotificationFactory(recipient=customer, kind="welcome")
    theirs = NotificationFactory(recipient=other_customer)

    response = customer_client.get("/api/v1/notifications/")

    assert response.status_code == 200
    body = response.json()
    assert [n["id"] for n in body["results"]] == [str(mine.public_id)]
    assert body["results"][0]["status"] == "queued"
    assert customer_client.get(f"/api/v1/notifications/{theirs.public_id}/").status_code == 404
    assert customer_client.get(f"/api/v1/notifications/{mine.public_id}/").json()["kind"] == "welcome"


def test_endpoints_are_in_the_openapi_schema(api_client):
    response = api_client.get("/api/schema/")

    assert response.status_code == 200
    schema = response.content.decode()
    for path in (
        "/api/v1/notification-preferences/",
        "/api/v1/devices/",
        "/api/v1/devices/{token}/",
        "/api/v1/notifications/",
        "/api/v1/notifications/{public_id}/",
        "/api/v1/notifications/webhooks/twilio/",
    ):
        assert f"{path}:" in schema


def test_delete_a_token_with_slashes_by_its_path(customer_client, customer):
    DeviceFactory(user=customer, token="fcm:with/slash")

    assert customer_client.delete("/api/v1/devices/fcm:with/nope/").status_code == 404
    assert customer_client.delete("/api/v1/devices/fcm:with/slash/").status_code == 204
    assert not Device.objects.exists()


def test_devices_delete_takes_no_body(api_client):
    operations = api_client.get("/api/schema/?format=json").json()["paths"]["/api/v1/devices/"]

    assert "delete" not in operations
