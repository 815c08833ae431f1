"""Email delivery status from the provider's webhooks, through django-anymail.

Anymail receives and verifies each ESP's tracking webhook (``/anymail/<esp>/tracking/``,
HTTP basic auth with ``ANYMAIL["WEBHOOK_SECRET"]`` plus the ESP's own signature where it
has one) and announces a normalised event on its ``tracking`` signal, its documented
integration point; this receiver hands it to the service.
"""

from __future__ import annotations

from anymail.signals import EventType, tracking

from notifications import services

DELIVERED = {EventType.DELIVERED}
UNDELIVERED = {EventType.BOUNCED, EventType.REJECTED, EventType.FAILED}


def on_tracking_event(sender, event, esp_name, **kwargs) -> None:
    if not event.message_id or event.event_type not in DELIVERED | UNDELIVERED:
        return
    services.notification_delivery_report(
        channel="email",
        provider_message_id=str(event.message_id),
        delivered=event.event_type in DELIVERED,
        error=f"{esp_name}: {event.event_type} {event.reject_reason or ''} {event.description or ''}".strip(),
    )


def connect() -> None:
    tracking.connect(on_tracking_event, dispatch_uid="notifications.email_tracking")
