from celery import shared_task

from flowmart.api.idempotency import idempotency_purge_expired


@shared_task
def purge_idempotency_keys_task() -> int:
    return idempotency_purge_expired()
