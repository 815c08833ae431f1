from __future__ import annotations

import factory

from notifications.models import Channel, Device, Notification, NotificationTemplate
from tests.users.factories import UserFactory


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    user = factory.SubFactory(UserFactory)
    token = factory.Sequence(lambda n: f"fcm-token-{n:04d}:APA91b")
    platform = Device.Platform.ANDROID


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    dedupe_key = factory.Sequence(lambda n: f"test:{n}")
    kind = "welcome"
    category = "account"
    channel = Channel.EMAIL
    recipient = factory.SubFactory(UserFactory)
    to_address = factory.LazyAttribute(lambda o: o.recipient.email if o.recipient else "guest@example.com")
    context = factory.LazyAttribute(lambda o: {"full_name": "Casey", "email": o.to_address})


class NotificationTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NotificationTemplate

    kind = "welcome"
    channel = Channel.EMAIL
    subject = "Hi {{ recipient_name }}, welcome aboard"
    body_text = "Custom welcome for {{ email }}"
    body_html = "<p>Custom welcome for {{ email }}</p>"
