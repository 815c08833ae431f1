"""Two workers on the same notification (a duplicated task): the provider is called once."""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.db import connection

from notifications import services
from notifications.channels.email import DjangoEmailBackend
from notifications.models import Notification
from tests.notifications.factories import NotificationFactory


class GatedEmailBackend(DjangoEmailBackend):
    """Real email sending that waits at the provider call until the test lets it go."""

    inside = threading.Event()
    release = threading.Event()

    def send(self, message):
        type(self).inside.set()
        assert type(self).release.wait(10)
        return super().send(message)


@pytest.mark.django_db(transaction=True)
def test_a_duplicated_send_task_does_not_send_twice(customer, settings):
    settings.NOTIFICATIONS_EMAIL_BACKEND = "tests.notifications.test_concurrency.GatedEmailBackend"
    GatedEmailBackend.inside.clear()
    GatedEmailBackend.release.clear()
    notification = NotificationFactory(recipient=customer)
    outcomes = []

    def first_worker():
        try:
            outcomes.append(services.notification_send(notification_id=notification.pk).status)
        finally:
            connection.close()

    worker = threading.Thread(target=first_worker)
    worker.start()
    assert GatedEmailBackend.inside.wait(10)  # the first worker is talking to the provider

    second = services.notification_send(notification_id=notification.pk)  # the duplicate
    GatedEmailBackend.release.set()
    worker.join(10)

    assert second.status == "busy"
    assert outcomes == ["sent"]
    assert len(mail.outbox) == 1
    assert Notification.objects.get(pk=notification.pk).attempts == 1
