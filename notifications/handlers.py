"""Reactions of the notifications app to other apps' events (autodiscovered)."""

from __future__ import annotations

from django.db import transaction

from flowmart.events.registry import subscribe
from flowmart.users.events import UserSignedUp


@subscribe(UserSignedUp)
def welcome_new_customer(event: UserSignedUp) -> None:
    from notifications.tasks import send_welcome_email_task

    transaction.on_commit(lambda: send_welcome_email_task.delay(email=event.email, full_name=event.full_name))
