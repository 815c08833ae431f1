"""The real provider adapters build the right requests (no network: the SDKs' transports are replaced)."""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

import firebase_admin
import pytest
import requests
from firebase_admin import credentials, messaging
from google.auth.credentials import AnonymousCredentials
from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator

from notifications import services
from notifications.channels.base import OutgoingMessage, PermanentChannelError, TransientChannelError
from notifications.channels.fcm_push import FcmPushBackend
from notifications.channels.twilio_sms import TwilioSmsBackend
from notifications.models import Device, Notification
from tests.notifications.factories import DeviceFactory, NotificationFactory

SID = "AC" + "0" * 32
TOKEN = "twilio-test-auth-token"


@pytest.fixture
def twilio_settings(settings):
    settings.TWILIO_ACCOUNT_SID = SID
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.TWILIO_FROM_NUMBER = "+15005550006"
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    return settings


class RecordingTwilioHttp(HttpClient):
    """Stands in for Twilio's HTTP transport: records the request, answers like the API."""

    def __init__(self, status: int = 201, body: dict | None = None):
        super().__init__(logger=None, is_async=False)
        self.status, self.body, self.requests = status, body, []

    def request(
        self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None, allow_redirects=False
    ):
        self.requests.append({"method": method, "uri": uri, "data": data, "auth": auth})
        body = self.body or {"sid": "SM" + "a" * 32, "status": "queued", "to": data["To"], "body": data["Body"]}
        return TwilioResponse(self.status, json.dumps(body))


def sms(to: str = "+15555550123") -> OutgoingMessage:
    return OutgoingMessage(notification_id=str(uuid.uuid4()), to=[to], text="FlowMart: order FM-1 has shipped.")


def test_twilio_request_carries_number_text_and_status_callback(twilio_settings):
    http = RecordingTwilioHttp()

    result = TwilioSmsBackend(http_client=http).send(sms())

    assert result.provider_message_id == "SM" + "a" * 32
    [request] = http.requests
    assert request["method"] == "POST"
    assert request["uri"] == f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"
    assert request["auth"] == (SID, TOKEN)
    assert request["data"]["To"] == "+15555550123"
    assert request["data"]["From"] == "+15005550006"
    assert request["data"]["Body"] == "FlowMart: order FM-1 has shipped."
    assert request["data"]["StatusCallback"] == "http://127.0.0.1:8000/api/v1/notifications/webhooks/twilio/"


def test_twilio_refusal_is_permanent_and_outage_transient(twilio_settings):
    invalid = {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}
    with pytest.raises(PermanentChannelError, match="code 21211"):
        TwilioSmsBackend(http_client=RecordingTwilioHttp(400, invalid)).send(sms("+1"))
    with pytest.raises(TransientChannelError, match="Twilio 503"):
        TwilioSmsBackend(http_client=RecordingTwilioHttp(503, {"message": "busy", "status": 503})).send(sms())


def _signed_post(client, url_path: str, params: dict, token: str = TOKEN):
    signature = RequestValidator(token).compute_signature("http://127.0.0.1:8000" + url_path, params)
    return client.post(
        url_path, urlencode(params), content_type="application/x-www-form-urlencoded", HTTP_X_TWILIO_SIGNATURE=signature
    )


def test_signed_twilio_status_callback_marks_the_sms_delivered(twilio_settings, customer, client):
    notification = NotificationFactory(
        recipient=customer, channel="sms", kind="shipment_dispatched", category="shipping_updates", to_address="+1555"
    )
    Notification.objects.filter(pk=notification.pk).update(status="sent", provider_message_id="SM123")

    path = "/api/v1/notifications/webhooks/twilio/"
    response = _signed_post(client, path, {"MessageSid": "SM123", "MessageStatus": "delivered", "To": "+1555"})

    assert response.status_code == 204
    notification = Notification.objects.get(pk=notification.pk)
    assert notification.status == "delivered"
    assert notification.delivered_at is not None


def test_twilio_callback_with_a_bad_signature_is_refused(twilio_settings, customer, client):
    notification = NotificationFactory(recipient=customer, channel="sms", to_address="+1555")
    Notification.objects.filter(pk=notification.pk).update(status="sent", provider_message_id="SM123")

    path = "/api/v1/notifications/webhooks/twilio/"
    response = _signed_post(client, path, {"MessageSid": "SM123", "MessageStatus": "delivered"}, token="wrong")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert Notification.objects.get(pk=notification.pk).status == "sent"


def test_undelivered_sms_becomes_failed(twilio_settings, customer, client):
    notification = NotificationFactory(recipient=customer, channel="sms", to_address="+1555")
    Notification.objects.filter(pk=notification.pk).update(status="sent", provider_message_id="SM9")

    path = "/api/v1/notifications/webhooks/twilio/"
    _signed_post(client, path, {"MessageSid": "SM9", "MessageStatus": "undelivered", "ErrorCode": "30005"})

    notification = Notification.objects.get(pk=notification.pk)
    assert (notification.status, notification.error) == ("failed", "Twilio error 30005")


# --- FCM -------------------------------------------------------------------------------
class _NoNetworkCredential(credentials.Base):
    def get_credential(self):
        return AnonymousCredentials()


class RecordingFcmAdapter(requests.adapters.BaseAdapter):
    """Stands in for the HTTPS transport of the FCM v1 API: records requests, answers per token."""

    def __init__(self, unregistered: set[str] = frozenset()):
        super().__init__()
        self.unregistered, self.requests = unregistered, []

    def send(self, request, **kwargs):
        body = json.loads(request.body)
        self.requests.append({"url": request.url, "body": body})
        response = requests.Response()
        response.request, response.url = request, request.url
        token = body["message"]["fid"]
        if token in self.unregistered:
            response.status_code = 404
            payload = {
                "error": {
                    "code": 404,
                    "message": "Requested entity was not found.",
                    "status": "NOT_FOUND",
                    "details": [
                        {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}
                    ],
                }
            }
        else:
            response.status_code = 200
            payload = {"name": f"projects/flowmart-test/messages/{token[-4:]}"}
        response._content = json.dumps(payload).encode()
        response.headers["Content-Type"] = "application/json"
        return response

    def close(self):
        pass


@pytest.fixture
def fcm():
    app = firebase_admin.initialize_app(
        _NoNetworkCredential(), options={"projectId": "flowmart-test"}, name=f"test-{uuid.uuid4().hex}"
    )
    adapter = RecordingFcmAdapter(unregistered={"gone-token-0000"})
    messaging._get_messaging_service(app)._client.session.mount("https://fcm.googleapis.com", adapter)
    yield app, adapter
    firebase_admin.delete_app(app)


def test_fcm_request_per_device_with_title_body_and_data(fcm):
    app, adapter = fcm
    message = OutgoingMessage(
        notification_id="n-1",
        to=["tok-ios-1111", "tok-android-2222"],
        subject="Order FM-1 is on its way",
        text="Tracking 1Z999",
        data={"kind": "shipment_dispatched"},
    )

    result = FcmPushBackend(app=app).send(message)

    assert result.provider_message_id == "projects/flowmart-test/messages/1111,projects/flowmart-test/messages/2222"
    assert [r["url"] for r in adapter.requests] == [
        "https://fcm.googleapis.com/v1/projects/flowmart-test/messages:send"
    ] * 2
    sent = adapter.requests[0]["body"]["message"]
    assert sent["fid"] == "tok-ios-1111"
    assert sent["notification"] == {"title": "Order FM-1 is on its way", "body": "Tracking 1Z999"}
    assert sent["data"] == {"notification_id": "n-1", "kind": "shipment_dispatched"}
    assert sent["android"] == {"priority": "high"}


def test_fcm_unregistered_tokens_deactivate_their_devices(fcm, customer, settings):
    app, adapter = fcm
    settings.PUSH_BACKEND = "tests.notifications.test_channels.TestFcmBackend"
    TestFcmBackend.app = app
    DeviceFactory(user=customer, token="live-token-1111")
    DeviceFactory(user=customer, token="gone-token-0000")
    notification = NotificationFactory(
        recipient=customer,
        kind="order_on_hold",
        category="order_updates",
        channel="push",
        context={"order_number": "FM-1", "expected_delay_days": 2, "reason": "Short"},
    )

    assert services.notification_send(notification_id=notification.pk).status == "sent"

    assert Notification.objects.get(pk=notification.pk).provider_message_id == "projects/flowmart-test/messages/1111"
    assert Device.objects.get(token="gone-token-0000").is_active is False
    assert Device.objects.get(token="live-token-1111").is_active is True


class TestFcmBackend(FcmPushBackend):
    __test__ = False
    app = None

    def __init__(self):
        super().__init__(app=type(self).app)


# --- email delivery status (django-anymail tracking webhooks) ---------------------------
def _postmark_delivery(client, message_id: str, auth: str = "anymail:development-only"):
    import base64

    body = {
        "RecordType": "Delivery",
        "MessageID": message_id,
        "Recipient": "casey@example.com",
        "DeliveredAt": "2026-11-21T12:00:00Z",
        "Details": "Test delivery",
        "Tag": "",
        "Metadata": {},
        "ServerID": 1,
    }
    return client.post(
        "/anymail/postmark/tracking/",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(auth.encode()).decode(),
    )


def test_email_provider_delivery_webhook_marks_the_email_delivered(customer, client):
    notification = NotificationFactory(recipient=customer)
    Notification.objects.filter(pk=notification.pk).update(status="sent", provider_message_id="pm-0001")

    response = _postmark_delivery(client, "pm-0001")

    assert response.status_code == 200
    assert Notification.objects.get(pk=notification.pk).status == "delivered"


def test_email_provider_webhook_without_the_secret_is_refused(customer, client):
    notification = NotificationFactory(recipient=customer)
    Notification.objects.filter(pk=notification.pk).update(status="sent", provider_message_id="pm-0002")

    response = _postmark_delivery(client, "pm-0002", auth="anymail:wrong")

    assert response.status_code == 400
    assert Notification.objects.get(pk=notification.pk).status == "sent"
