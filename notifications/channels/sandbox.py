"""Sandbox SMS and push: record what would have been sent, for development and tests."""

from __future__ import annotations

import uuid

from notifications.channels.base import ChannelBackend, OutgoingMessage, SendResult
from notifications.models import SandboxMessage


class _SandboxBackend(ChannelBackend):
    prefix = ""

    def send(self, message: OutgoingMessage) -> SendResult:
        ids = []
        for to in message.to:
            row = SandboxMessage.objects.create(
                channel=self.channel,
                to=to,
                title=message.subject,
                body=message.text,
                data=message.data,
                provider_message_id=f"{self.prefix}{uuid.uuid4().hex}",
            )
            ids.append(row.provider_message_id)
        return SendResult(provider_message_id=",".join(ids)[:255])


class SandboxSmsBackend(_SandboxBackend):
    channel = "sms"
    prefix = "SMsandbox"


class SandboxPushBackend(_SandboxBackend):
    channel = "push"
    prefix = "push-sandbox-"
