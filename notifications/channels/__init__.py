"""Channel adapters: one interface per channel, the backend chosen by settings."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from notifications.channels.base import ChannelBackend


def backend_for(channel: str) -> ChannelBackend:
    path = {
        "email": settings.NOTIFICATIONS_EMAIL_BACKEND,
        "sms": settings.SMS_BACKEND,
        "push": settings.PUSH_BACKEND,
    }[channel]
    return import_string(path)()
