"""Push through Firebase Cloud Messaging (the official ``firebase-admin`` SDK, HTTP v1 API)."""

from __future__ import annotations

import firebase_admin
from django.conf import settings
from firebase_admin import credentials, exceptions, messaging

from notifications.channels.base import (
    ChannelBackend,
    OutgoingMessage,
    PermanentChannelError,
    SendResult,
    TransientChannelError,
)

APP_NAME = "flowmart-notifications"
_TRANSIENT = (exceptions.UnavailableError, exceptions.InternalError, exceptions.DeadlineExceededError)


def firebase_app() -> firebase_admin.App:
    try:
        return firebase_admin.get_app(APP_NAME)
    except ValueError:
        cred = credentials.Certificate(settings.FCM_CREDENTIALS_FILE) if settings.FCM_CREDENTIALS_FILE else None
        options = {"projectId": settings.FCM_PROJECT_ID} if settings.FCM_PROJECT_ID else None
        return firebase_admin.initialize_app(cred, options=options, name=APP_NAME)


def build_messages(message: OutgoingMessage) -> list[messaging.Message]:
    return [
        messaging.Message(
            fid=token,  # the Firebase installation ID the app registered (SDK 7: "token" is deprecated)
            notification=messaging.Notification(title=message.subject, body=message.text),
            data={"notification_id": message.notification_id, **message.data},
            android=messaging.AndroidConfig(priority="high"),
            apns=messaging.APNSConfig(payload=messaging.APNSPayload(aps=messaging.Aps(sound="default"))),
        )
        for token in message.to
    ]


class FcmPushBackend(ChannelBackend):
    channel = "push"

    def __init__(self, *, app: firebase_admin.App | None = None) -> None:
        self.app = app or firebase_app()

    def send(self, message: OutgoingMessage) -> SendResult:
        batch = messaging.send_each(build_messages(message), app=self.app)
        ids, dead, transient, permanent = [], [], [], []
        for token, response in zip(message.to, batch.responses, strict=True):
            if response.success:
                ids.append(response.message_id)
            elif isinstance(response.exception, messaging.UnregisteredError | messaging.SenderIdMismatchError):
                dead.append(token)
            elif isinstance(response.exception, _TRANSIENT | messaging.QuotaExceededError):
                transient.append(str(response.exception))
            else:
                permanent.append(str(response.exception))
        if ids:
            return SendResult(provider_message_id=",".join(ids)[:255], dead_tokens=dead)
        if transient:
            raise TransientChannelError("; ".join(transient))
        raise PermanentChannelError("; ".join(permanent) or "every device token is unregistered")
