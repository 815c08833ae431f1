"""Commands (docs/architecture.md §Events): follow-up work that runs once to success, retries, goes dead,
and is retried by staff. The broker-down proof is tests/faults/test_durable.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from flowmart.events.commands import command_queue, command_run
from flowmart.events.models import Command
from flowmart.events.publisher import PublishOutsideTransaction
from tests.testapp.handlers import probe_redis
from tests.testapp.models import Effect

TASK = "tests.testapp.tasks.probe_command_task"


def attempts(key: str) -> int:
    return int(probe_redis().get(f"probe:command-attempts:{key}") or 0)


def test_a_command_outside_a_transaction_is_refused(transactional_db):
    with pytest.raises(PublishOutsideTransaction):
        command_queue(TASK, key="outside")
    assert not Command.objects.exists()


@pytest.mark.django_db
def test_a_command_runs_once_to_success_however_often_its_message_arrives():
    command = command_queue(TASK, key="once")

    assert command_run(command_id=command.pk).status == "succeeded"
    assert command_run(command_id=command.pk).status == "succeeded"  # a duplicate message

    assert Effect.objects.filter(key="once").count() == 1
    assert attempts("once") == 1
    command.refresh_from_db()
    assert (command.status, command.attempts, command.claimed_until) == ("succeeded", 1, None)


@pytest.mark.django_db
def test_a_command_another_run_holds_is_left_alone_until_its_claim_ends():
    command = command_queue(TASK, key="claimed")
    Command.objects.filter(pk=command.pk).update(claimed_until=timezone.now() + timedelta(minutes=5))

    assert command_run(command_id=command.pk).status == "busy"
    assert attempts("claimed") == 0

    Command.objects.filter(pk=command.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))  # it died
    assert command_run(command_id=command.pk).status == "succeeded"
    assert Effect.objects.filter(key="claimed").count() == 1


@pytest.mark.django_db
def test_a_failing_command_retries_goes_dead_and_staff_retry_it(settings, client, staff_user):
    settings.EVENTS_COMMAND_MAX_ATTEMPTS = 3
    command = command_queue(TASK, key="dead", behaviour="always_fail")

    outcomes = [command_run(command_id=command.pk) for _ in range(3)]

    assert [o.status for o in outcomes] == ["retrying", "retrying", "dead"]
    assert outcomes[0].retry_in == settings.EVENTS_RETRY_BASE_SECONDS
    command.refresh_from_db()
    assert (command.status, command.attempts) == ("dead", 3)
    assert "scripted permanent failure" in command.last_error
    assert command_run(command_id=command.pk).status == "dead"  # a late copy does nothing
    assert attempts("dead") == 3

    client.force_login(staff_user)
    probe_redis().set("probe:healed:dead", "1")
    response = client.post(
        reverse("admin:events_command_changelist"),
        {"action": "retry_commands", "_selected_action": [command.pk]},
        follow=True,
    )
    assert "1 command(s) queued again" in response.content.decode()
    command.refresh_from_db()
    assert (command.status, command.attempts) == ("pending", 0)

    assert command_run(command_id=command.pk).status == "succeeded"
    assert Effect.objects.filter(key="dead").count() == 1
