"""Celery tasks of the payments app: thin, each calls one service."""

from __future__ import annotations

from celery import shared_task

from payments import reconciliation, services, webhooks


@shared_task(ignore_result=True)
def process_webhook_task(webhook_event_id: int) -> None:
    webhooks.webhook_event_process(webhook_event_id=webhook_event_id)


@shared_task(ignore_result=True)
def process_pending_webhooks_task() -> None:
    """Beat safety net: webhooks recorded but never processed (worker crash, broker down)."""
    webhooks.webhook_events_process_pending()


@shared_task(ignore_result=True)
def reconcile_payments_task(day: str | None = None) -> None:
    """Daily: compare the gateway's records of yesterday (or ``day``, YYYY-MM-DD) with ours."""
    reconciliation.reconciliation_run(day=day)


@shared_task(ignore_result=True)
def sandbox_dispute_webhook_task(charge_id: str) -> None:
    """The sandbox's card network: a pm_card_createDispute charge gets a signed dispute webhook."""
    webhooks.sandbox_dispute_send(charge_id=charge_id, event_type="charge.dispute.created", status="needs_response")


@shared_task(ignore_result=True)
def resume_stuck_payments_task() -> None:
    """Beat: payments left pending / refunds left processing by a crash are finished with the same keys."""
    services.payments_resume_stuck()


@shared_task(ignore_result=True)
def void_stray_authorizations_task() -> None:
    """Beat: holds at the gateway that no authorized payment explains are voided and reported."""
    services.payments_stray_authorizations_void()


@shared_task(ignore_result=True)
def sandbox_disputes_decide_task() -> None:
    """Beat: the sandbox's bank decides disputes whose evidence came in and whose decision time passed."""
    webhooks.sandbox_disputes_decide()
