"""Who listens to what. Handlers subscribe with a decorator in their app's handlers.py.

    @subscribe(OrderConfirmed)
    def create_shipments(event: OrderConfirmed) -> None:
        shipment_create_for_order(...)

A handler runs in the relay's Celery task (or a retry's), inside a transaction together with its
inbox record, so its database effects happen exactly once per event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flowmart.events.base import Event


@dataclass(frozen=True)
class Subscription:
    handler_name: str
    event_name: str
    func: Callable[[Event], None]

    @property
    def consumer_app(self) -> str:
        return self.handler_name.split(".")[0]


_subscriptions: dict[str, Subscription] = {}


def handler_name(func: Callable) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def subscribe(*event_classes: type[Event]) -> Callable[[Callable], Callable]:
    def decorator(func: Callable) -> Callable:
        for event_cls in event_classes:
            key = f"{handler_name(func)}@{event_cls.name}"
            _subscriptions[key] = Subscription(handler_name(func), event_cls.name, func)
        return func

    return decorator


def unsubscribe(func: Callable) -> None:
    """For tests that subscribe throw-away handlers."""
    name = handler_name(func)
    for key in [k for k, s in _subscriptions.items() if s.handler_name == name]:
        del _subscriptions[key]


def subscriptions_for(event_name: str) -> list[Subscription]:
    return sorted((s for s in _subscriptions.values() if s.event_name == event_name), key=lambda s: s.handler_name)


def subscription(event_name: str, name: str) -> Subscription | None:
    return _subscriptions.get(f"{name}@{event_name}")
