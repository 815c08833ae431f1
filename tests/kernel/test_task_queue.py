"""``queue_after_commit``: a task by name, sent only once the transaction commits, never raising after it."""

from __future__ import annotations

import base64
import json
import logging

import pytest
import redis
from celery.exceptions import NotRegistered
from django.conf import settings
from django.db import transaction

from flowmart.task_queue import queue_after_commit
from tests.events.test_event_spine import broker_unreachable

TASK = "flowmart.events.tasks.redeliver_events_task"


def queued_messages() -> list[tuple[str, dict]]:
    """(task name, keyword arguments) of what waits in this run's queue on the broker."""
    broker = redis.Redis.from_url(settings.REDIS_URL)
    messages = [json.loads(raw) for raw in broker.lrange(settings.CELERY_TASK_DEFAULT_QUEUE, 0, -1)]
    return [(m["headers"]["task"], json.loads(base64.b64decode(m["body"]))[1]) for m in messages]


def test_the_task_is_sent_by_name_with_keywords_when_the_transaction_commits(transactional_db):
    with transaction.atomic():
        queue_after_commit(TASK, older_than_seconds=60, recovered_by="nothing: a test")
        assert queued_messages() == []

    assert queued_messages() == [(TASK, {"older_than_seconds": 60})]


def test_nothing_is_sent_when_the_transaction_rolls_back(transactional_db):
    with pytest.raises(RuntimeError), transaction.atomic():
        queue_after_commit(TASK, older_than_seconds=60, recovered_by="nothing: a test")
        raise RuntimeError("the business change failed")

    assert queued_messages() == []


def test_a_broker_outage_is_logged_with_what_recovers_the_work_and_not_raised(transactional_db, caplog):
    with broker_unreachable(), caplog.at_level(logging.WARNING), transaction.atomic():
        queue_after_commit(TASK, older_than_seconds=60, recovered_by="the events-redeliver beat task")

    assert "task could not be queued" in caplog.text
    assert "the events-redeliver beat task" in caplog.text
    assert queued_messages() == []


def test_an_unknown_task_name_fails_inside_the_transaction(db):
    with pytest.raises(NotRegistered):
        queue_after_commit("flowmart.events.tasks.no_such_task", recovered_by="nothing: a test")
