"""Celery tasks of the notifications app: thin, each calls one service."""

from __future__ import annotations

from celery import shared_task

from notifications import services


@shared_task(acks_late=True)
def send_notification_task(notification_id: int) -> str:
    outcome = services.notification_send(notification_id=notification_id)
    if outcome.retry_in is not None:
        send_notification_task.apply_async(kwargs={"notification_id": notification_id}, countdown=outcome.retry_in)
    return outcome.status


@shared_task
def requeue_stuck_notifications_task() -> int:
    return len(services.notifications_requeue_stuck())


@shared_task
def send_due_feedback_requests_task() -> int:
    return services.feedback_requests_send_due()
