"""Commands of the notifications app: everything that changes its state.

The flow: a handler calls ``notifications_create`` inside the event's
delivery transaction; it writes one ``Notification`` per wanted channel
(``queued``) or a ``suppressed`` one when the recipient opted out, and queues
the sending after commit. ``notification_send`` (on Celery) renders, talks to
the channel's provider outside any transaction, and records the outcome.
"""

from __future__ import annotations

import uuid
import zoneinfo
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from flowmart.errors import Conflict, FlowMartError, NotFound
from flowmart.events.publisher import publish
from flowmart.network_calls import assert_no_transaction
from flowmart.task_queue import queue_after_commit
from flowmart.transitions import transition_apply, transition_record
from flowmart.users.selectors import user_get_by_public_id
from notifications import links, preferences, rendering
from notifications.channels import backend_for
from notifications.channels.base import ChannelError, OutgoingMessage, TransientChannelError
from notifications.events import NotificationFailed, NotificationSent
from notifications.kinds import Category, Channel, kind_get
from notifications.models import (
    Device,
    EmailOptOut,
    Feedback,
    Notification,
    Preference,
)
from notifications.rate_limit import rate_limit_take

log = structlog.get_logger(__name__)


# --- recipients --------------------------------------------------------------
@dataclass(frozen=True)
class Recipient:
    user: Any | None  # flowmart.users.User
    email: str
    phone: str = ""
    name: str = ""

    @property
    def key(self) -> str:
        return f"user:{self.user.pk}" if self.user is not None else f"email:{self.email.lower()}"


def recipient_resolve(*, user_id: str | None, email: str = "", phone: str = "", name: str = "") -> Recipient | None:
    """The person an event is about: the account when there is one, else the address in the payload."""
    user = None
    if user_id:
        try:
            user = user_get_by_public_id(public_id=uuid.UUID(str(user_id)))
        except ValueError:
            user = None
    if user is not None:
        if not user.is_active:
            return None
        return Recipient(
            user=user, email=user.email, phone=user.phone or phone, name=user.full_name or name or user.email
        )
    if not email:
        return None
    return Recipient(user=None, email=email, phone=phone, name=name)


def staff_recipients(*, group: str | None = None) -> list[Recipient]:
    """Active staff; with ``group`` (a role such as "Warehouse" or "Finance"): that group's active members."""
    users = get_user_model().objects.filter(is_active=True)
    users = users.filter(groups__name=group) if group else users.filter(is_staff=True)
    return [Recipient(user=u, email=u.email, phone=u.phone, name=u.full_name or u.email) for u in users.order_by("pk")]


# --- transitions -------------------------------------------------------------
def notification_transition(
    notification: Notification, method: str, *, reason: str = "", by=None, save_fields: list[str] | None = None
) -> Notification:
    """Run one FSM transition and record it (caller holds the transaction and the row lock)."""
    transition_apply(notification, method, reason=reason, by=by)
    return notification


# --- creating ----------------------------------------------------------------
def _address_for(channel: str, recipient: Recipient) -> str | None:
    if channel == Channel.EMAIL:
        return recipient.email or None
    if channel == Channel.SMS:
        # Guests gave a phone number for the carrier, not for our messages: SMS needs an account.
        return (recipient.phone or None) if recipient.user is not None else None
    if channel == Channel.PUSH:
        if recipient.user is None or not Device.objects.filter(user=recipient.user, is_active=True).exists():
            return None
        return f"devices of {recipient.email}"
    return None


def _enqueue(notification_ids: list[int]) -> None:
    for notification_id in notification_ids:
        queue_after_commit(
            "notifications.tasks.send_notification_task",
            notification_id=notification_id,
            recovered_by="notifications.tasks.requeue_stuck_notifications_task",
        )


def notifications_create(
    *,
    kind: str,
    recipient: Recipient,
    context: dict,
    dedupe: str,
    correlation_id: str = "",
    event_id: uuid.UUID | None = None,
    channels: tuple[str, ...] | None = None,
) -> list[Notification]:
    """One notification per channel the kind uses and the recipient can be reached on.

    ``dedupe`` names the cause (usually the event id): the same cause never
    produces the same kind twice for one recipient on one channel. Channels
    the recipient opted out of are recorded as ``suppressed``; sending is
    queued after commit.
    """
    spec = kind_get(kind)
    created: list[Notification] = []
    with transaction.atomic():
        for channel in channels or spec.channels:
            if channel not in spec.channels:
                continue
            address = _address_for(channel, recipient)
            if address is None:
                continue
            key = f"{dedupe}:{kind}:{recipient.key}:{channel}"[:255]
            if Notification.objects.filter(dedupe_key=key).exists():
                continue
            try:
                with transaction.atomic():
                    notification = Notification.objects.create(
                        dedupe_key=key,
                        kind=kind,
                        category=spec.category,
                        channel=channel,
                        recipient=recipient.user,
                        to_address=address[:255],
                        context={"recipient_name": recipient.name, **context},
                        correlation_id=correlation_id[:100],
                        event_id=event_id,
                    )
            except IntegrityError:  # created concurrently by another worker: it is theirs
                continue
            if not preferences.is_wanted(kind=spec, channel=channel, user=recipient.user, email=recipient.email):
                notification_transition(notification, "suppress", reason="recipient opted out of this category")
            created.append(notification)
        _enqueue([n.pk for n in created if n.status == Notification.Status.QUEUED])
    return created


def notifications_create_for_event(
    *, kind: str, event, recipient: Recipient | None, context: dict, dedupe: str | None = None
) -> list:
    if recipient is None:
        log.info("no recipient for notification", kind=kind, event=event.name)
        return []
    return notifications_create(
        kind=kind,
        recipient=recipient,
        context=context,
        dedupe=dedupe or str(event.event_id),
        correlation_id=event.correlation_id,
        event_id=event.event_id,
    )


def staff_alert_create(
    *, kind: str, event, context: dict, dedupe: str | None = None, group: str | None = None
) -> list[Notification]:
    """Email every active staff member, or with ``group`` the active members of that role. ``dedupe`` (e.g. one
    per SKU per day) keeps a flapping level quiet."""
    created: list[Notification] = []
    for recipient in staff_recipients(group=group):
        created += notifications_create_for_event(
            kind=kind, event=event, recipient=recipient, context=context, dedupe=dedupe
        )
    return created


# --- sending -----------------------------------------------------------------
@dataclass(frozen=True)
class SendOutcome:
    status: str
    retry_in: float | None = None


def retry_delay(attempts: int) -> float:
    delay = settings.NOTIFICATIONS_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return min(delay, settings.NOTIFICATIONS_RETRY_MAX_SECONDS)


def _email_extras(notification: Notification) -> tuple[dict, dict]:
    """(template context, headers): the signed unsubscribe link of the message's category."""
    url = links.unsubscribe_url(email=notification.to_address, category=notification.category)
    context = {
        "unsubscribe_url": url,
        "preferences_url": settings.SITE_URL + "/notifications/preferences/",
        "category_label": Category(notification.category).label,
    }
    headers = {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return context, headers


def _user_id(notification: Notification) -> str | None:
    return str(notification.recipient.public_id) if notification.recipient_id else None


def _fail(notification: Notification, *, error: str, reason: str) -> None:
    notification.error = error[:4000]
    notification.claimed_until = None
    notification.next_attempt_at = None
    notification.failed_at = timezone.now()
    notification_transition(notification, "fail", reason=reason)
    publish(
        NotificationFailed(
            correlation_id=notification.correlation_id or f"notification:{notification.public_id}",
            notification_id=str(notification.public_id),
            kind=notification.kind,
            channel=notification.channel,
            user_id=_user_id(notification),
            error=notification.error[:500],
        )
    )


def _time_zone_of(user) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(getattr(user, "time_zone", "") or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _claim(notification_id: int) -> tuple[Notification | None, OutgoingMessage | None, SendOutcome | None]:
    """Lock, check, rate-limit, render and claim one queued message (one short transaction)."""
    now = timezone.now()
    with transaction.atomic():
        n = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("recipient")
            .filter(pk=notification_id)
            .first()
        )
        if n is None:
            return None, None, SendOutcome("missing")
        if n.status != Notification.Status.QUEUED:
            return None, None, SendOutcome(n.status)
        if n.claimed_until and n.claimed_until > now:
            return None, None, SendOutcome("busy")
        recipient_key = f"user:{n.recipient_id}" if n.recipient_id else f"addr:{n.to_address.lower()}"
        wait = rate_limit_take(recipient_key=recipient_key)
        if wait is not None:
            n.next_attempt_at = now + timedelta(seconds=wait)
            n.save(update_fields=["next_attempt_at", "updated_at"])
            return None, None, SendOutcome("rate_limited", retry_in=wait)

        context, headers = dict(n.context), {}
        if n.channel == Channel.EMAIL:
            extra_context, headers = _email_extras(n)
            context.update(extra_context)
        try:
            # Times in the message read in the recipient's own time zone (stored and carried in UTC).
            with timezone.override(_time_zone_of(n.recipient)):
                rendered = rendering.render_message(kind=n.kind, channel=n.channel, context=context)
        except rendering.TemplateRenderError as exc:
            _fail(n, error=exc.detail, reason="template failed to render; nothing was sent")
            return None, None, SendOutcome(n.status)

        if n.channel == Channel.PUSH:
            to = list(
                Device.objects.filter(user=n.recipient, is_active=True)
                .order_by("-last_seen_at")
                .values_list("token", flat=True)
            )
            if not to:
                _fail(n, error="the recipient has no active push device", reason="no device")
                return None, None, SendOutcome(n.status)
        else:
            to = [n.to_address]

        n.subject, n.body_text, n.body_html, n.template = (
            rendered.subject,
            rendered.text,
            rendered.html,
            rendered.template,
        )
        n.attempts += 1
        n.claimed_until = now + timedelta(seconds=settings.NOTIFICATIONS_SEND_LEASE_SECONDS)
        n.next_attempt_at = None
        n.save()
        message = OutgoingMessage(
            notification_id=str(n.public_id),
            to=to,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            headers=headers,
            data={"kind": n.kind, "correlation_id": n.correlation_id},
        )
        return n, message, None


def notification_send(*, notification_id: int) -> SendOutcome:
    """Send one queued notification through its channel; at most once to success."""
    notification, message, outcome = _claim(notification_id)
    if outcome is not None:
        return outcome

    try:
        assert_no_transaction(f"the {notification.channel} provider")
        result = backend_for(notification.channel).send(message)
        error = None
    except ChannelError as exc:
        result, error = None, exc
    except Exception as exc:  # an adapter bug or misconfiguration: recorded and retried like an outage
        log.exception("channel backend crashed", channel=notification.channel)
        result, error = None, TransientChannelError(f"{type(exc).__name__}: {exc}")

    with transaction.atomic():
        n = Notification.objects.select_for_update(of=("self",)).select_related("recipient").get(pk=notification.pk)
        n.claimed_until = None
        if error is None:
            n.provider_message_id = result.provider_message_id
            n.sent_at = timezone.now()
            n.error = ""
            notification_transition(n, "mark_sent", reason=f"attempt {n.attempts}")
            if result.dead_tokens:
                Device.objects.filter(token__in=result.dead_tokens).update(is_active=False)
            publish(
                NotificationSent(
                    correlation_id=n.correlation_id or f"notification:{n.public_id}",
                    notification_id=str(n.public_id),
                    kind=n.kind,
                    channel=n.channel,
                    user_id=_user_id(n),
                    provider_message_id=n.provider_message_id,
                )
            )
            log.info("notification sent", kind=n.kind, channel=n.channel, notification_id=str(n.public_id))
            return SendOutcome(n.status)
        if error.transient and n.attempts < settings.NOTIFICATIONS_MAX_ATTEMPTS:
            delay = retry_delay(n.attempts)
            n.error = str(error)[:4000]
            n.next_attempt_at = timezone.now() + timedelta(seconds=delay)
            n.save()
            log.warning("notification failed; will retry", kind=n.kind, channel=n.channel, error=str(error))
            return SendOutcome("retrying", retry_in=delay)
        reason = "retries exhausted" if error.transient else "provider refused the message"
        _fail(n, error=str(error), reason=reason)
        return SendOutcome(n.status)


def notifications_requeue_stuck() -> list[int]:
    """Queued messages nobody is working on (lost task, worker crash, broker outage): queue them again."""
    now = timezone.now()
    grace = now - timedelta(seconds=settings.NOTIFICATIONS_REQUEUE_AFTER_SECONDS)
    ids = list(
        Notification.objects.filter(status=Notification.Status.QUEUED)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(Q(next_attempt_at__isnull=True, updated_at__lt=grace) | Q(next_attempt_at__lt=grace))
        .order_by("id")
        .values_list("id", flat=True)[:500]
    )
    with transaction.atomic():
        _enqueue(ids)
    return ids


# --- delivery status from providers -----------------------------------------
def notification_delivery_report(*, channel: str, provider_message_id: str, delivered: bool, error: str = "") -> bool:
    """A provider told us what became of a message (webhook). Returns whether we knew the message."""
    with transaction.atomic():
        n = (
            Notification.objects.select_for_update()
            .filter(channel=channel, provider_message_id=provider_message_id)
            .first()
        )
        if n is None:
            return False
        if delivered and n.status in (Notification.Status.SENT, Notification.Status.QUEUED):
            n.delivered_at = timezone.now()
            notification_transition(n, "mark_delivered", reason="provider delivery report")
        elif not delivered and n.status == Notification.Status.SENT:
            _fail(n, error=error or "undelivered", reason="provider reported the message undelivered")
    return True


# --- staff actions -----------------------------------------------------------
def notification_resend(*, notification: Notification, by=None) -> Notification:
    """Send the same message again as a new notification (history keeps both)."""
    with transaction.atomic():
        original = Notification.objects.select_for_update().get(pk=notification.pk)
        count = original.resends.count() + 1
        copy = Notification.objects.create(
            dedupe_key=f"resend:{original.public_id}:{count}",
            kind=original.kind,
            category=original.category,
            channel=original.channel,
            recipient=original.recipient,
            to_address=original.to_address,
            context=original.context,
            correlation_id=original.correlation_id,
            event_id=original.event_id,
            resent_from=original,
        )
        transition_record(copy, from_state="", reason=f"resent from {original.public_id}", by=by)
        _enqueue([copy.pk])
    return copy


def notifications_retry_failed(*, notification_ids: list[int], by=None) -> list[int]:
    """Staff give failed messages a fresh round of attempts (failed → queued); returns the ids queued."""
    with transaction.atomic():
        failed = Notification.objects.select_for_update().filter(
            pk__in=notification_ids, status=Notification.Status.FAILED
        )
        ids = []
        for n in failed:
            n.attempts = 0
            n.failed_at = None
            n.next_attempt_at = None
            notification_transition(n, "retry", reason="retried by staff", by=by)
            ids.append(n.pk)
        _enqueue(ids)
    return ids


# --- preferences ---------------------------------------------------------------
class NotAPreference(FlowMartError):
    code = "not_a_preference"
    status = 400
    title = "That is not a notification preference"


def preferences_update(*, user, matrix: dict[str, dict[str, bool]]) -> dict[str, dict[str, bool]]:
    """Set the customer's choices; unknown categories/channels are refused, missing ones left as they are."""
    with transaction.atomic():
        for category, channels in matrix.items():
            if category not in preferences.CUSTOMER_CATEGORIES:
                raise NotAPreference(f"{category!r} is not a notification category you can choose.")
            for channel, enabled in channels.items():
                if channel not in preferences.CHANNELS:
                    raise NotAPreference(f"{channel!r} is not a channel.")
                Preference.objects.update_or_create(
                    user=user, category=category, channel=channel, defaults={"enabled": bool(enabled)}
                )
    return preferences.preference_matrix(user=user)


def unsubscribe_apply(*, token: str) -> tuple[str, str]:
    """One click from an email: stop that category's emails to that address. Returns (email, category)."""
    email, category = links.unsubscribe_token_read(token)
    user = get_user_model().objects.filter(email__iexact=email).first()
    with transaction.atomic():
        if user is not None:
            Preference.objects.update_or_create(
                user=user, category=category, channel=Channel.EMAIL, defaults={"enabled": False}
            )
        else:
            EmailOptOut.objects.get_or_create(email=email, category=category)
    return email, category


# --- devices -------------------------------------------------------------------
class DeviceTokenTaken(Conflict):
    code = "device_token_taken"
    title = "That push token is registered to another account"


def device_register(*, user, token: str, platform: str, name: str = "") -> tuple[Device, bool]:
    """Register (or re-activate) a push token of this user.

    A token belongs to one account: registering another account's token raises ``DeviceTokenTaken`` and
    neither moves the device nor says anything about it (its name, platform). The owner frees it by
    ``device_remove`` (the app does so on sign-out)."""
    with transaction.atomic():
        device = Device.objects.select_for_update().filter(token=token).first()
        if device is None:
            return Device.objects.create(user=user, token=token, platform=platform, name=name), True
        if device.user_id != user.pk:
            raise DeviceTokenTaken("This push token is registered to another account; sign out there first.")
        device.platform, device.name, device.is_active = platform, name or device.name, True
        device.save()
        return device, False


def device_remove(*, user, token: str) -> None:
    deleted, _ = Device.objects.filter(user=user, token=token).delete()
    if not deleted:
        raise NotFound("No such device.")


# --- feedback ------------------------------------------------------------------
def feedback_schedule(*, order_number: str, user_id: str | None, email: str, delivered_at=None) -> Feedback | None:
    """Ask for a rating ``FEEDBACK_DELAY_DAYS`` after delivery (once per order)."""
    recipient = recipient_resolve(user_id=user_id, email=email)
    if recipient is None:
        return None
    due_at = (delivered_at or timezone.now()) + timedelta(days=settings.FEEDBACK_DELAY_DAYS)
    feedback, _ = Feedback.objects.get_or_create(
        order_number=order_number, defaults={"user": recipient.user, "email": recipient.email, "due_at": due_at}
    )
    return feedback


def feedback_requests_send_due() -> int:
    """Send the feedback requests that are due; returns how many were sent out."""
    sent = 0
    due = Feedback.objects.filter(requested_at__isnull=True, due_at__lte=timezone.now()).order_by("due_at")[:200]
    for feedback_id in list(due.values_list("id", flat=True)):
        with transaction.atomic():
            feedback = Feedback.objects.select_for_update(skip_locked=True).filter(pk=feedback_id).first()
            if feedback is None or feedback.requested_at is not None:
                continue
            user = feedback.user
            recipient = Recipient(
                user=user,
                email=user.email if user else feedback.email,
                name=(user.full_name if user else "") or "",
            )
            notifications_create(
                kind="feedback_request",
                recipient=recipient,
                context={
                    "order_number": feedback.order_number,
                    "feedback_url": links.feedback_url(order_number=feedback.order_number),
                },
                dedupe=f"feedback:{feedback.order_number}",
                correlation_id=feedback.order_number,
            )
            feedback.requested_at = timezone.now()
            feedback.save(update_fields=["requested_at"])
            sent += 1
    return sent


class InvalidRating(FlowMartError):
    code = "invalid_rating"
    status = 400
    title = "A rating is from 1 to 5"


class FeedbackAlreadyGiven(FlowMartError):
    code = "feedback_already_given"
    status = 409
    title = "You already rated this order"


class InvalidFeedbackLink(FlowMartError):
    code = "invalid_link"
    status = 404
    title = "This link is not valid"


def feedback_submit(*, token: str, rating: int, comment: str = "") -> Feedback:
    try:
        order_number = links.feedback_token_read(token)
    except links.BadLink as exc:
        raise InvalidFeedbackLink(str(exc)) from exc
    if not 1 <= int(rating) <= 5:
        raise InvalidRating("Choose a rating from 1 to 5.")
    with transaction.atomic():
        feedback = Feedback.objects.select_for_update().filter(order_number=order_number).first()
        if feedback is None:
            raise InvalidFeedbackLink("We did not ask for feedback on this order.")
        if feedback.submitted_at is not None:
            raise FeedbackAlreadyGiven("Thank you — we already have your rating for this order.")
        feedback.rating = int(rating)
        feedback.comment = comment.strip()[:4000]
        feedback.submitted_at = timezone.now()
        feedback.save()
    return feedback
