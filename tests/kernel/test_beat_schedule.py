"""Every task beat sends is one the worker knows: an unregistered name is dropped by the worker ("Received
unregistered task"), so the sweep it names never runs, silently."""

from __future__ import annotations

from django.conf import settings

from flowmart.celery import app


def test_every_scheduled_task_is_registered_with_the_worker():
    app.loader.import_default_modules()  # what the worker does at start: every app's tasks module
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert sorted(scheduled - set(app.tasks)) == []
