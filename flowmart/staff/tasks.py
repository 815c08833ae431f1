from celery import shared_task
from django.conf import settings

from flowmart.staff.actions import staff_actions_unfinished_close


@shared_task
def close_unfinished_audit_entries_task() -> int:
    return staff_actions_unfinished_close(older_than_seconds=settings.STAFF_AUDIT_UNFINISHED_AFTER_SECONDS)
