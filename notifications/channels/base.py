"""What every channel backend receives and returns."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OutgoingMessage:
    notification_id: str  # public id, for correlation on the provider side
    to: list[str]  # email address, phone number, or push tokens
    subject: str = ""
    text: str = ""
    html: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    # Push: tokens the provider says are gone for good (the devices are deactivated).
    dead_tokens: list[str] = field(default_factory=list)


class ChannelError(Exception):
    """Sending failed; ``transient`` ones are retried with back-off, the others fail the message."""

    transient = False


class TransientChannelError(ChannelError):
    transient = True


class PermanentChannelError(ChannelError):
    transient = False


class ChannelBackend:
    channel = ""

    def send(self, message: OutgoingMessage) -> SendResult:  # pragma: no cover - interface
        raise NotImplementedError
