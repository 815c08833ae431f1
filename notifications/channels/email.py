"""Email through Django's email backends (console, SMTP, locmem, or a provider via django-anymail)."""

from __future__ import annotations

import smtplib
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from notifications.channels.base import (
    ChannelBackend,
    OutgoingMessage,
    PermanentChannelError,
    SendResult,
    TransientChannelError,
)


class DjangoEmailBackend(ChannelBackend):
    channel = "email"

    def send(self, message: OutgoingMessage) -> SendResult:
        domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(">") or "flowmart.test"
        message_id = make_msgid(domain=domain)
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text,
            to=message.to,
            headers={"Message-ID": message_id, "X-FlowMart-Notification": message.notification_id, **message.headers},
        )
        if message.html:
            email.attach_alternative(message.html, "text/html")
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentChannelError(f"recipient refused: {exc}") from exc
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise TransientChannelError(f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            # django-anymail raises AnymailError subclasses; API/network trouble is worth a retry.
            if type(exc).__module__.startswith("anymail"):
                if "Recipients" in type(exc).__name__ or "Invalid" in type(exc).__name__:
                    raise PermanentChannelError(str(exc)) from exc
                raise TransientChannelError(str(exc)) from exc
            raise
        status = getattr(email, "anymail_status", None)
        provider_id = getattr(status, "message_id", None) if status is not None else None
        return SendResult(provider_message_id=str(provider_id or message_id))
