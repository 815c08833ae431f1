"""Celery tasks of the notifications app: thin, each calls one service."""

from celery import shared_task

from notifications import services


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_welcome_email_task(*, email: str, full_name: str) -> None:
    services.welcome_email_send(email=email, full_name=full_name)
