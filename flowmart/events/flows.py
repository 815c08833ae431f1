"""Business flows across apps, declared in code for the event catalog (``manage.py event_catalog --format
eventcatalog`` writes them as EventCatalog flows).

An app declares its flows in ``<app>/event_flows.py`` as ``FLOWS = [Flow(...)]``. Steps name events by their
class and services by app label, and ``flow_check`` holds them to the running code: a step from an event to a
service needs that service to subscribe to the event (a handler in the registry), a step from a service to an
event needs the service to produce it, so a flow that drifts from the handlers fails its test
(``tests/events/test_eventcatalog.py``). A service-to-service step is a direct call (the saga's orchestration).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from importlib.util import find_spec

from flowmart.events.base import Event
from flowmart.events.registry import subscriptions_for


@dataclass(frozen=True)
class Next:
    step: str
    label: str = ""


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    summary: str = ""
    event: type[Event] | None = None  # a message step
    service: str | None = None  # an app label: a service step
    actor: str | None = None  # a person (customer, staff)
    next: tuple[Next, ...] = ()


@dataclass(frozen=True)
class Flow:
    id: str
    name: str
    summary: str
    steps: tuple[Step, ...] = field(default_factory=tuple)


def declared_flows() -> list[Flow]:
    """Every installed app's ``event_flows.FLOWS``."""
    from django.apps import apps

    flows: list[Flow] = []
    for config in apps.get_app_configs():
        module_name = f"{config.name}.event_flows"
        if find_spec(module_name) is not None:
            flows += import_module(module_name).FLOWS
    return flows


def flow_check(flow: Flow) -> list[str]:
    """What in ``flow`` disagrees with the code: unknown steps, an event a service does not subscribe to or
    produce. Empty when the flow is the running flow."""
    problems = []
    steps = {s.id: s for s in flow.steps}
    for step in flow.steps:
        kinds = [k for k in (step.event, step.service, step.actor) if k]
        if len(kinds) != 1:
            problems.append(f"{flow.id}/{step.id}: one of event, service or actor")
        for nxt in step.next:
            target = steps.get(nxt.step)
            if target is None:
                problems.append(f"{flow.id}/{step.id}: next step {nxt.step} does not exist")
                continue
            if step.event and target.service:
                subscribers = {s.consumer_app for s in subscriptions_for(step.event.name)}
                if target.service not in subscribers:
                    problems.append(f"{flow.id}: {target.service} has no handler for {step.event.name}")
            if step.service and target.event and target.event.producer != step.service:
                problems.append(
                    f"{flow.id}: {target.event.name} is produced by {target.event.producer}, not {step.service}"
                )
    return problems
