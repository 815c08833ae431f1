"""Celery tasks of the reports: thin, each calls one service."""

from __future__ import annotations

from celery import shared_task

from reports import services


@shared_task
def weekly_summary_task() -> int:
    return services.weekly_summary_send()


@shared_task
def backup_task() -> str:
    from flowmart import backups

    return str(backups.backup_create().archive)
