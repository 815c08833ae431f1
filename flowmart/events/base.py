"""Domain events: frozen dataclasses whose own fields are the payload.

    @dataclass(frozen=True, kw_only=True)
    class OrderConfirmed(Event):
        name = "OrderConfirmed"
        producer = "orders"
        version = 1

        order_number: str
        total_minor: int
        currency: str

Every concrete subclass registers itself in the event catalog when its module
is imported. Envelope fields (``event_id``, ``occurred_at``, ``correlation_id``,
``causation_id``) are shared; everything else is payload and must be
JSON-serialisable (str, int, bool, float, None, lists and dicts of those).
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from typing import Any, ClassVar

from django.utils import timezone

ENVELOPE_FIELDS = ("event_id", "occurred_at", "correlation_id", "causation_id")


class EventCatalogError(TypeError):
    pass


_registry: dict[str, type[Event]] = {}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event:
    name: ClassVar[str] = ""
    version: ClassVar[int] = 1
    producer: ClassVar[str] = ""

    correlation_id: str
    causation_id: uuid.UUID | None = None
    event_id: uuid.UUID = dataclasses.field(default_factory=uuid.uuid4)
    occurred_at: datetime = dataclasses.field(default_factory=timezone.now)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("name"):
            return  # an abstract intermediate class
        if not cls.producer:
            raise EventCatalogError(f"{cls.__qualname__} must say which app produces it (producer = ...)")
        existing = _registry.get(cls.name)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise EventCatalogError(f"event name {cls.name!r} is already taken by {existing.__module__}")
        _registry[cls.name] = cls

    # -- payload -------------------------------------------------------------
    def payload(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ENVELOPE_FIELDS}

    @classmethod
    def payload_fields(cls) -> list[dataclasses.Field]:
        return [f for f in dataclasses.fields(cls) if f.name not in ENVELOPE_FIELDS]

    @classmethod
    def from_record(cls, *, event_id, occurred_at, correlation_id, causation_id, payload: dict) -> Event:
        known = {f.name for f in cls.payload_fields()}
        return cls(
            event_id=event_id,
            occurred_at=occurred_at,
            correlation_id=correlation_id,
            causation_id=causation_id,
            # Older producers may have sent fields a newer consumer no longer reads.
            **{k: v for k, v in payload.items() if k in known},
        )

    def caused(self, event_cls: type[Event], **payload: Any) -> Event:
        """Make a follow-up event in the same flow: same correlation id, caused by this one."""
        return event_cls(correlation_id=self.correlation_id, causation_id=self.event_id, **payload)


def event_class(name: str) -> type[Event] | None:
    return _registry.get(name)


def registered_events() -> dict[str, type[Event]]:
    return dict(sorted(_registry.items()))
