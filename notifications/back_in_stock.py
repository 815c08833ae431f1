"""Back-in-stock alerts: customers ask to be told once when a sold-out SKU can be bought again.

Requests live here, not in inventory: a request is a promise to send a message, on the channel the
customer prefers, and inventory only says when stock came back (``BackInStock``).

Rules (docs/notifications.md §Back in stock):

* Only a SKU that is sold out right now can be asked for; asking twice keeps the first place.
* A signed-in customer's request is confirmed at once (their account's address). An address is
  confirmed through a signed link in an email; unconfirmed requests are never told. Confirming when
  the SKU is already back tells the customer at once.
* When a SKU comes back (``BackInStock``, with the units available), waiting requests are told first
  asked, first told, at most as many as the units that came back. Each told request is done.
* One message per request, on one channel: the first of push, SMS, email that the customer has on for
  back-in-stock alerts and can be reached on (guests: email).

Concurrency: every command on one SKU's requests first takes a transaction-scoped advisory lock on the
SKU, so asking, confirming and fulfilling queue behind each other. A request that saw the SKU sold out
is committed before a batch for that SKU is chosen, or it sees the SKU back and is refused (or, when
confirming, told at once): nobody is stranded in the queue and batches never overlap. A redelivered
event counts what it already told (``notified_by_event``), so it never tells more than its units.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from flowmart.errors import Conflict, FlowMartError
from flowmart.locks import advisory_xact_lock
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from notifications import links, preferences
from notifications.kinds import Channel, kind_get
from notifications.models import BackInStockRequest
from notifications.services import Recipient, _address_for, notifications_create, recipient_resolve

ADVISORY_NAMESPACE = 7402  # first key of the back-in-stock advisory locks (second: hash of the SKU)
# The most immediate channel first: stock that comes back can sell out again quickly.
CHANNEL_ORDER = (Channel.PUSH, Channel.SMS, Channel.EMAIL)


class BackInStockInvalid(FlowMartError):
    code = "back_in_stock_invalid"
    status = 400
    title = "The back-in-stock request is incomplete"


class SkuInStock(Conflict):
    code = "sku_in_stock"
    title = "It is in stock: you can buy it now"


class InvalidBackInStockLink(FlowMartError):
    code = "invalid_link"
    status = 404
    title = "This link is not valid"


def _sku_lock(sku: str) -> None:
    advisory_xact_lock(ADVISORY_NAMESPACE, sku)


def _open_requests():
    return BackInStockRequest.objects.filter(notified_at__isnull=True)


def _product_url(slug: str) -> str:
    return f"{settings.SITE_URL}/products/{slug}/"


def _label(variant) -> str:
    return f"{variant.product_name} ({variant.variant_name})" if variant.variant_name else variant.product_name


def back_in_stock_request(*, sku: str, user=None, email: str = "") -> BackInStockRequest:
    """Ask to be told when ``sku`` is back. Signed in: confirmed now; else a confirmation email is sent."""
    sku = (sku or "").strip()
    variant = inventory_selectors.variant_get_by_sku(sku=sku) if sku else None
    if variant is None or not variant.is_active:
        raise inventory_services.UnknownSku(f"There is no product with SKU {sku!r} for sale.")
    signed_in = user is not None and user.is_authenticated
    if signed_in:
        email = user.email
    else:
        email = (email or "").strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            raise BackInStockInvalid(
                "Tell us the email address to write to.", errors={"email": ["Enter a valid email address."]}
            ) from None
    now = timezone.now()
    with transaction.atomic():
        _sku_lock(sku)
        mine = _open_requests().filter(sku=sku)
        mine = mine.filter(user=user) if signed_in else mine.filter(user__isnull=True).filter(email__iexact=email)
        existing = mine.first()
        if existing is not None:
            return existing
        if inventory_selectors.available_quantity(sku=sku) > 0:
            raise SkuInStock(f"{variant.product_name} is in stock: you can buy it now.", sku=sku)
        try:
            with transaction.atomic():
                request = BackInStockRequest.objects.create(
                    sku=sku,
                    product_name=_label(variant),
                    product_slug=variant.product_slug,
                    user=user if signed_in else None,
                    email=email,
                    requested_at=now,
                    confirmed_at=now if signed_in else None,
                )
        except IntegrityError:  # the same person asked at the same moment: the lock makes this unreachable
            return mine.get()
        if not signed_in:
            notifications_create(
                kind="back_in_stock_confirm",
                recipient=Recipient(user=None, email=email),
                context={
                    "sku": sku,
                    "product_name": request.product_name,
                    "product_url": _product_url(request.product_slug),
                    "confirm_url": links.back_in_stock_confirm_url(request_id=request.pk),
                },
                dedupe=f"back-in-stock:{request.pk}",
                correlation_id=f"sku:{sku}",
            )
    return request


def back_in_stock_confirm(*, token: str) -> BackInStockRequest:
    """Confirm an address's request (the link in the email). If the SKU is already back, tell them now."""
    try:
        request_id = links.back_in_stock_token_read(token)
    except links.BadLink as exc:
        raise InvalidBackInStockLink(str(exc)) from exc
    sku = BackInStockRequest.objects.filter(pk=request_id).values_list("sku", flat=True).first()
    if sku is None:
        raise InvalidBackInStockLink("We have no such request any more.")
    with transaction.atomic():
        _sku_lock(sku)  # before the row lock, in the same order as a batch takes them
        request = BackInStockRequest.objects.select_for_update().get(pk=request_id)
        if request.confirmed_at is not None:
            return request
        request.confirmed_at = timezone.now()
        request.save(update_fields=["confirmed_at"])
        if inventory_selectors.available_quantity(sku=sku) > 0:
            _tell(request, event=None)
    return request


def back_in_stock_fulfil(*, event) -> list[BackInStockRequest]:
    """Tell the first confirmed requests for ``event.sku``, at most ``event.available`` of them, once.

    Runs in the handler's transaction (the inbox row commits with it).
    """
    told: list[BackInStockRequest] = []
    with transaction.atomic():
        _sku_lock(event.sku)
        already = BackInStockRequest.objects.filter(notified_by_event=str(event.event_id)).count()
        room = max(int(event.available) - already, 0)
        if room == 0:
            return told
        batch = list(
            _open_requests()
            .filter(sku=event.sku, confirmed_at__isnull=False)
            .exclude(user__is_active=False)
            .order_by("requested_at", "id")
            .select_for_update(of=("self",))[:room]
        )
        for request in batch:
            _tell(request, event=event)
            told.append(request)
    return told


def preferred_channel(*, kind_key: str, recipient: Recipient) -> str:
    """The one channel a single message goes on: the first the recipient wants and can be reached on."""
    kind = kind_get(kind_key)
    for channel in CHANNEL_ORDER:
        if channel not in kind.channels or _address_for(channel, recipient) is None:
            continue
        if preferences.is_wanted(kind=kind, channel=channel, user=recipient.user, email=recipient.email):
            return channel
    return Channel.EMAIL  # opted out everywhere: recorded as suppressed, so history explains the silence


def _tell(request: BackInStockRequest, *, event) -> None:
    """One message on the preferred channel; the request is done (caller holds the lock and the transaction)."""
    if request.user_id is not None:
        recipient = recipient_resolve(user_id=str(request.user.public_id))
    else:
        recipient = Recipient(user=None, email=request.email)
    if recipient is not None:
        channel = preferred_channel(kind_key="back_in_stock", recipient=recipient)
        notifications_create(
            kind="back_in_stock",
            recipient=recipient,
            context={
                "sku": request.sku,
                "product_name": request.product_name,
                "product_url": _product_url(request.product_slug),
            },
            dedupe=f"back-in-stock:{request.pk}",
            correlation_id=f"sku:{request.sku}",
            event_id=event.event_id if event is not None else None,
            channels=(channel,),
        )
        request.channel = channel
    request.notified_at = timezone.now()
    request.notified_by_event = str(event.event_id) if event is not None else ""
    request.save(update_fields=["notified_at", "notified_by_event", "channel"])
