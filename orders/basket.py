"""The basket: lines by SKU, priced and checked against inventory every time it is looked at.

Guests' baskets are found through the session (the view keeps the basket's
public id there), customers' through their account; at login the guest's basket
merges into the customer's (``basket_merge``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import reduce
from operator import or_

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from flowmart.errors import FlowMartError, NotFound
from flowmart.money import Money
from inventory import selectors as inventory_selectors
from orders.models import Basket, BasketLine
from orders.pricing import perks_for_user


class BasketError(FlowMartError):
    code = "basket_invalid"
    title = "The basket could not be changed"


class UnknownProduct(BasketError):
    code = "unknown_sku"
    status = 400
    title = "No such product"


class QuantityNotAllowed(BasketError):
    code = "quantity_not_allowed"
    status = 400
    title = "That quantity is not allowed"


class NotEnoughStock(BasketError):
    code = "insufficient_stock"
    status = 409
    title = "Not enough stock"


class NotOnSaleYet(BasketError):
    code = "not_on_sale_yet"
    status = 409
    title = "Not on sale to you yet"


class BasketLineNotFound(NotFound):
    code = "basket_line_not_found"
    title = "No such basket line"


@dataclass(frozen=True)
class BasketLineView:
    id: int
    sku: str
    name: str
    variant_name: str
    product_slug: str
    image_url: str
    quantity: int
    unit_price_minor: int
    line_total_minor: int
    currency: str
    weight_grams: int
    available_quantity: int
    is_available: bool
    problem: str = ""
    stock_short: bool = False  # for sale, but fewer units free than the line asks for
    # Set when the owner may not buy it yet (members' early access or a launch): when they may.
    on_sale_at: datetime | None = None


@dataclass(frozen=True)
class BasketView:
    """What the customer sees: current prices, availability and what changed since last time."""

    public_id: str | None
    currency: str
    lines: list[BasketLineView]
    subtotal_minor: int
    notices: list[str] = field(default_factory=list)
    version: int = 0

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def is_empty(self) -> bool:
        return not self.lines

    @property
    def can_checkout(self) -> bool:
        return bool(self.lines) and all(line.is_available for line in self.lines)

    @property
    def subtotal(self) -> Money:
        return Money(self.subtotal_minor, self.currency)


# -- finding the basket -------------------------------------------------------
def basket_get_or_create(*, user=None, basket_public_id: str | None = None) -> Basket:
    """The customer's basket (by account) or the guest's (by the id kept in their session)."""
    if user is not None and user.is_authenticated:
        basket, _ = Basket.objects.get_or_create(user=user, defaults={"currency": settings.SHOP_CURRENCY})
        return basket
    if basket_public_id:
        basket = Basket.objects.filter(public_id=basket_public_id, user__isnull=True).first()
        if basket is not None:
            return basket
    return Basket.objects.create(currency=settings.SHOP_CURRENCY)


# A guest without a cookie (a native app) carries its basket as a signed token (``X-Basket-Token``): the
# signature means a basket id seen elsewhere (an event, a log line) does not open the basket.
BASKET_TOKEN_SALT = "orders.basket-token"  # noqa: S105 - a signing salt


def basket_token(*, basket: Basket) -> str:
    return signing.Signer(salt=BASKET_TOKEN_SALT).sign(str(basket.public_id))


class BasketTokenInvalid(BasketError):
    code = "basket_token_invalid"
    title = "The basket token is not one FlowMart issued"


def basket_id_from_token(token: str) -> str:
    """The guest basket id a token carries; ``BasketTokenInvalid`` (400) for a forged or mangled token."""
    try:
        return signing.Signer(salt=BASKET_TOKEN_SALT).unsign(token)
    except signing.BadSignature as exc:
        raise BasketTokenInvalid("Send the X-Basket-Token the basket was created with, or none.") from exc


def basket_view_empty() -> BasketView:
    """The basket of a caller who has none yet (shown without creating one)."""
    return BasketView(public_id=None, currency=settings.SHOP_CURRENCY, lines=[], subtotal_minor=0)


def basket_find(*, user=None, basket_public_id: str | None = None) -> Basket | None:
    """Like ``basket_get_or_create`` but never creates (for read-only pages)."""
    if user is not None and user.is_authenticated:
        return Basket.objects.filter(user=user).first()
    if basket_public_id:
        return Basket.objects.filter(public_id=basket_public_id, user__isnull=True).first()
    return None


# -- changing it -------------------------------------------------------------------
def _check_quantity(quantity: int) -> None:
    if not isinstance(quantity, int) or quantity < 1:
        raise QuantityNotAllowed("Quantity must be at least 1.")
    if quantity > settings.BASKET_MAX_QUANTITY:
        raise QuantityNotAllowed(f"You can buy at most {settings.BASKET_MAX_QUANTITY} of one item.")


def _check_stock(*, sku: str, quantity: int, name: str) -> None:
    available = inventory_selectors.available_quantity(sku=sku)
    if quantity > available:
        if available <= 0:
            raise NotEnoughStock(f"{name} is out of stock.", available=0)
        raise NotEnoughStock(f"Only {available} of {name} left in stock.", available=available)


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%-d %B %Y, %H:%M %Z")


def sale_window_problem(*, variant, is_member: bool) -> tuple[str, datetime | None]:
    """(why this customer may not buy ``variant`` now, when they may) or ("", None) if they may."""
    window = variant.sale_window
    if window.is_open(is_member=is_member):
        return "", None
    opens = window.opens_at(is_member=is_member)
    if window.is_open(is_member=True):
        return f"{variant.product_name} is in members' early access: on sale to everyone from {_when(opens)}.", opens
    return f"{variant.product_name} goes on sale {_when(opens)}.", opens


def sale_window_check(*, variant, user) -> None:
    """Refuse (``not_on_sale_yet``) if ``variant`` is not on sale to ``user`` now.

    Membership is asked only when the window is closed to the public, so ordinary products cost nothing.
    """
    if variant.sale_window.is_open(is_member=False):
        return
    problem, opens = sale_window_problem(variant=variant, is_member=perks_for_user(user=user).early_access)
    if problem:
        raise NotOnSaleYet(problem, skus=[variant.sku], on_sale_at={variant.sku: opens.isoformat()})


def _touch(basket: Basket) -> None:
    Basket.objects.filter(pk=basket.pk).update(version=F("version") + 1)


def basket_line_add(*, basket: Basket, sku: str, quantity: int = 1) -> BasketLine:
    """Add ``quantity`` of ``sku`` (adding to an existing line of the same SKU)."""
    sku = (sku or "").strip()
    variant = inventory_selectors.variant_get_by_sku(sku=sku) if sku else None
    if variant is None or not variant.is_active:
        raise UnknownProduct(f"There is no product with SKU {sku!r} for sale.")
    _check_quantity(quantity)
    sale_window_check(variant=variant, user=basket.user)
    with transaction.atomic():
        locked = Basket.objects.select_for_update().get(pk=basket.pk)
        line = BasketLine.objects.filter(basket=locked, sku=sku).first()
        new_quantity = quantity + (line.quantity if line else 0)
        _check_quantity(new_quantity)
        if line is None and locked.lines.count() >= settings.BASKET_MAX_LINES:
            raise QuantityNotAllowed(f"A basket holds at most {settings.BASKET_MAX_LINES} different items.")
        _check_stock(sku=sku, quantity=new_quantity, name=variant.product_name)
        if line is None:
            line = BasketLine.objects.create(
                basket=locked, sku=sku, quantity=new_quantity, seen_unit_price_minor=variant.price_minor
            )
        else:
            line.quantity = new_quantity
            line.seen_unit_price_minor = variant.price_minor
            line.save(update_fields=["quantity", "seen_unit_price_minor"])
        _touch(locked)
    return line


def _line_of(basket: Basket, line_id) -> BasketLine:
    try:
        return BasketLine.objects.select_related("basket").get(basket=basket, pk=int(line_id))
    except (BasketLine.DoesNotExist, TypeError, ValueError):
        raise BasketLineNotFound("That line is not in your basket.") from None


def basket_line_update(*, basket: Basket, line_id, quantity: int) -> BasketLine | None:
    """Set a line's quantity; 0 removes it."""
    line = _line_of(basket, line_id)
    if quantity == 0:
        basket_line_remove(basket=basket, line_id=line.pk)
        return None
    _check_quantity(quantity)
    variant = inventory_selectors.variant_get_by_sku(sku=line.sku)
    if variant is None or not variant.is_active:
        raise UnknownProduct(f"{line.sku} is no longer for sale; remove it from your basket.")
    if quantity > line.quantity:
        _check_stock(sku=line.sku, quantity=quantity, name=variant.product_name)
    with transaction.atomic():
        line.quantity = quantity
        line.seen_unit_price_minor = variant.price_minor
        line.save(update_fields=["quantity", "seen_unit_price_minor"])
        _touch(basket)
    return line


def basket_line_remove(*, basket: Basket, line_id) -> None:
    line = _line_of(basket, line_id)
    with transaction.atomic():
        line.delete()
        _touch(basket)


def basket_clear_lines(*, basket_public_id, quantities: dict[str, int]) -> None:
    """After a confirmed order: take the ordered quantities out (items added since then stay).

    Runs inside the caller's transaction. The version goes up first: that UPDATE locks the basket row, as every
    change of the basket does, before its lines are touched. Lines the order took whole go in one DELETE; only
    a line the customer added to meanwhile is left, with the rest of its quantity (one UPDATE, if any).
    """
    if not Basket.objects.filter(public_id=basket_public_id).update(version=F("version") + 1) or not quantities:
        return  # no basket any more (or nothing to take out)
    lines = BasketLine.objects.filter(basket__public_id=basket_public_id)
    taken_whole = reduce(or_, (Q(sku=sku, quantity__lte=quantity) for sku, quantity in quantities.items()))
    deleted, _ = lines.filter(taken_whole).delete()
    if deleted < len(quantities):
        lines.filter(sku__in=list(quantities)).update(
            quantity=F("quantity") - Case(*(When(sku=sku, then=Value(qty)) for sku, qty in quantities.items()))
        )


def basket_merge(*, guest_basket_public_id, user) -> Basket:
    """At login: move the guest basket's lines into the customer's, adding quantities (capped)."""
    with transaction.atomic():
        target, _ = Basket.objects.get_or_create(user=user, defaults={"currency": settings.SHOP_CURRENCY})
        guest = Basket.objects.select_for_update().filter(public_id=guest_basket_public_id, user__isnull=True).first()
        if guest is None or guest.pk == target.pk:
            return target
        target = Basket.objects.select_for_update().get(pk=target.pk)
        existing = {line.sku: line for line in target.lines.all()}
        for line in guest.lines.all():
            mine = existing.get(line.sku)
            if mine is None:
                BasketLine.objects.create(
                    basket=target,
                    sku=line.sku,
                    quantity=min(line.quantity, settings.BASKET_MAX_QUANTITY),
                    seen_unit_price_minor=line.seen_unit_price_minor,
                )
            else:
                mine.quantity = min(mine.quantity + line.quantity, settings.BASKET_MAX_QUANTITY)
                mine.save(update_fields=["quantity"])
        guest.delete()
        _touch(target)
    return target


# -- looking at it -----------------------------------------------------------------
def basket_view(*, basket: Basket, acknowledge: bool = True, pictures: bool = True) -> BasketView:
    """Price every line at today's price and check availability; report what changed.

    With ``acknowledge`` the prices shown become the "seen" prices, so a notice
    about a change is given once. ``pictures=False``: no product pictures (pricing for checkout shows none).
    """
    lines = list(basket.lines.all())
    skus = [line.sku for line in lines]
    variants = inventory_selectors.variants_by_sku(skus=skus, pictures=pictures) if lines else {}
    availability = inventory_selectors.availability_by_sku(skus=skus) if lines else {}
    notices: list[str] = []
    views: list[BasketLineView] = []
    changed: list[BasketLine] = []
    currency = basket.currency
    is_member = None  # asked only if a line is not on sale to everyone yet
    for line in lines:
        variant = variants.get(line.sku)
        if variant is None or not variant.is_active:
            views.append(
                BasketLineView(
                    id=line.pk,
                    sku=line.sku,
                    name=line.sku,
                    variant_name="",
                    product_slug="",
                    image_url="",
                    quantity=line.quantity,
                    unit_price_minor=line.seen_unit_price_minor,
                    line_total_minor=0,
                    currency=currency,
                    weight_grams=0,
                    available_quantity=0,
                    is_available=False,
                    problem="No longer for sale; please remove it.",
                )
            )
            notices.append(f"{line.sku} is no longer for sale.")
            continue
        currency = variant.currency
        available = availability.get(line.sku, 0)
        problem, on_sale_at = "", None
        if not variant.sale_window.is_open(is_member=False):
            if is_member is None:
                is_member = perks_for_user(user=basket.user).early_access
            problem, on_sale_at = sale_window_problem(variant=variant, is_member=is_member)
        if problem:
            notices.append(problem)
        elif available <= 0:
            problem = "Out of stock."
            notices.append(f"{variant.product_name} is out of stock.")
        elif available < line.quantity:
            problem = f"Only {available} left in stock."
            notices.append(f"Only {available} of {variant.product_name} left; please lower the quantity.")
        if variant.price_minor != line.seen_unit_price_minor:
            old = Money(line.seen_unit_price_minor, variant.currency)
            new = Money(variant.price_minor, variant.currency)
            verb = "went up" if variant.price_minor > line.seen_unit_price_minor else "went down"
            notices.append(f"The price of {variant.product_name} {verb} from {old} to {new}.")
            line.seen_unit_price_minor = variant.price_minor
            changed.append(line)
        views.append(
            BasketLineView(
                id=line.pk,
                sku=line.sku,
                name=variant.product_name,
                variant_name=variant.variant_name,
                product_slug=variant.product_slug,
                image_url=variant.image_url or "",
                quantity=line.quantity,
                unit_price_minor=variant.price_minor,
                line_total_minor=variant.price_minor * line.quantity,
                currency=variant.currency,
                weight_grams=variant.weight_grams,
                available_quantity=available,
                is_available=not problem,
                problem=problem,
                stock_short=available < line.quantity,
                on_sale_at=on_sale_at,
            )
        )
    if acknowledge and changed:
        BasketLine.objects.bulk_update(changed, ["seen_unit_price_minor"])
    return BasketView(
        public_id=str(basket.public_id),
        currency=currency,
        lines=views,
        subtotal_minor=sum(v.line_total_minor for v in views),
        notices=notices,
        version=basket.version,
    )
