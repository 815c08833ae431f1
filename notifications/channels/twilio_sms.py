"""SMS through Twilio's Messaging API (the official ``twilio`` SDK)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from notifications.channels.base import (
    ChannelBackend,
    OutgoingMessage,
    PermanentChannelError,
    SendResult,
    TransientChannelError,
)


def status_callback_url() -> str:
    return settings.SITE_URL + reverse("notifications-twilio-status")


class TwilioSmsBackend(ChannelBackend):
    channel = "sms"

    def __init__(self, *, http_client=None) -> None:
        self.client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)

    def send(self, message: OutgoingMessage) -> SendResult:
        kwargs = {"to": message.to[0], "body": message.text, "status_callback": status_callback_url()}
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            kwargs["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
        else:
            kwargs["from_"] = settings.TWILIO_FROM_NUMBER
        try:
            sent = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            if exc.status == 429 or exc.status >= 500:
                raise TransientChannelError(f"Twilio {exc.status}: {exc.msg}") from exc
            raise PermanentChannelError(f"Twilio {exc.status} (code {exc.code}): {exc.msg}") from exc
        except (TwilioException, OSError) as exc:
            raise TransientChannelError(f"Twilio unreachable: {exc}") from exc
        return SendResult(provider_message_id=sent.sid)
