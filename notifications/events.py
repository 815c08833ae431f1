"""Events the notifications app publishes."""

from __future__ import annotations

from dataclasses import dataclass

from flowmart.events.base import Event


@dataclass(frozen=True, kw_only=True)
class NotificationSent(Event):
    """A message left through its channel's provider (email, SMS or push)."""

    name = "NotificationSent"
    producer = "notifications"

    notification_id: str
    kind: str
    channel: str
    user_id: str | None
    provider_message_id: str


@dataclass(frozen=True, kw_only=True)
class NotificationFailed(Event):
    """A message could not be sent (permanent error, or retries exhausted)."""

    name = "NotificationFailed"
    producer = "notifications"

    notification_id: str
    kind: str
    channel: str
    user_id: str | None
    error: str
