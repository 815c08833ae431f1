from dataclasses import dataclass

from flowmart.events.base import Event


@dataclass(frozen=True, kw_only=True)
class SpineProbe(Event):
    """Test-only event; ``behaviour`` scripts how its handler fails."""

    name = "SpineProbe"
    producer = "testapp"

    key: str
    behaviour: str = "ok"  # ok | fail_twice | always_fail (until healed)


@dataclass(frozen=True, kw_only=True)
class UnheardProbe(Event):
    """Test-only event no handler subscribes to."""

    name = "UnheardProbe"
    producer = "testapp"

    key: str
