"""Storefront pages of the orders app: basket, the one-page checkout, order history and order page. Thin."""

from __future__ import annotations

from allauth.core import ratelimit
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from flowmart.errors import FlowMartError
from flowmart.guest_orders import guest_order_numbers, guest_order_remember
from flowmart.money import Money
from flowmart.users import selectors as user_selectors
from orders import forms, selectors, services
from orders.pricing import perks_for_user
from orders.signals import SESSION_BASKET_KEY
from shipping import selectors as shipping_selectors

SESSION_CHECKOUT_KEY = "orders.checkout"  # what a guest entered, kept across a detour to the basket


# -- helpers (request plumbing only) -------------------------------------------------
def _basket(request, *, create: bool = True):
    if create:
        basket = services.basket_get_or_create(
            user=request.user, basket_public_id=request.session.get(SESSION_BASKET_KEY)
        )
        if not request.user.is_authenticated:
            request.session[SESSION_BASKET_KEY] = str(basket.public_id)
        return basket
    return services.basket_find(user=request.user, basket_public_id=request.session.get(SESSION_BASKET_KEY))


def _own_order(request, number: str):
    """The customer's own order, or a guest order this browser may open (placed here, or opened by its link)."""
    order = selectors.order_get_for_user(number=number, user=request.user) if request.user.is_authenticated else None
    if order is None:
        order = selectors.order_get_for_guest(number=number, order_numbers=guest_order_numbers(request.session))
    if order is None:
        raise Http404("No such order")
    return order


# -- basket ---------------------------------------------------------------------------
def basket_detail(request):
    basket = _basket(request, create=False)
    view = services.basket_view(basket=basket) if basket is not None else None
    if view is not None:
        for notice in view.notices:
            messages.warning(request, notice)
    template = "orders/_basket.html" if request.htmx else "orders/basket.html"
    return render(request, template, {"basket": view})


@require_POST
def basket_add(request):
    form = forms.BasketAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a product and a quantity of at least 1.")
        return redirect(request.headers.get("referer") or "orders:basket")
    try:
        services.basket_line_add(basket=_basket(request), **form.cleaned_data)
    except FlowMartError as exc:
        messages.error(request, exc.detail)
        return redirect(request.headers.get("referer") or "orders:basket")
    messages.success(request, "Added to your basket.")
    return redirect("orders:basket")


@require_POST
def basket_line_update(request, line_id: int):
    form = forms.BasketLineForm(request.POST)
    basket = _basket(request)
    if form.is_valid():
        try:
            services.basket_line_update(basket=basket, line_id=line_id, quantity=form.cleaned_data["quantity"])
        except FlowMartError as exc:
            messages.error(request, exc.detail)
    else:
        messages.error(request, "Enter a quantity of 0 or more.")
    if request.htmx:
        return render(request, "orders/_basket.html", {"basket": services.basket_view(basket=basket)})
    return redirect("orders:basket")


@require_POST
def basket_line_remove(request, line_id: int):
    basket = _basket(request)
    try:
        services.basket_line_remove(basket=basket, line_id=line_id)
    except FlowMartError as exc:
        messages.error(request, exc.detail)
    if request.htmx:
        return render(request, "orders/_basket.html", {"basket": services.basket_view(basket=basket)})
    return redirect("orders:basket")


# -- checkout: one page ----------------------------------------------------------------------
# static/orders/checkout.js sends it with an "update" to get the delivery options and the summary only.
FRAGMENT_HEADER = "X-Checkout-Fragment"


def _checkout_ready(request):
    basket = _basket(request, create=False)
    if basket is None:
        return None, None
    view = services.basket_view(basket=basket)
    if view.is_empty or not view.can_checkout:
        for notice in view.notices:
            messages.warning(request, notice)
        return basket, None
    return basket, view


@require_http_methods(["GET", "POST"])
def checkout(request):
    """Contact, delivery address, delivery method, payment and the exact total on one page; one POST places the
    order. ``intent=update`` (the "Update delivery options" and "Update total" buttons without JavaScript, the
    page's script with ``FRAGMENT_HEADER``) re-quotes delivery for what was entered and places nothing."""
    basket, view = _checkout_ready(request)
    if view is None:
        if request.method == "POST":
            _keep_entries(request, request.POST)
        if basket is None or not basket.lines.exists():
            messages.info(request, "Your basket is empty.")
        if request.headers.get(FRAGMENT_HEADER):  # the script goes there itself: a fetch would eat the messages
            return HttpResponse(headers={"X-Checkout-Location": reverse("orders:basket")})
        return redirect("orders:basket")
    placing = request.method == "POST" and request.POST.get("intent") != "update"
    form = _checkout_form(request, bound=placing)
    preview = None
    if placing and form.is_valid():
        response, preview = _checkout_place(request, form, basket=basket, view=view)
        if response is not None:
            return response
    return _checkout_page(request, form, basket=basket, view=view, preview=preview)


def _checkout_form(request, *, bound: bool) -> forms.CheckoutForm:
    """Bound to the POST when placing; otherwise filled with what was entered (an update), what the shopper
    entered before being sent to the basket, or their default saved address, and showing no errors."""
    saved = list(user_selectors.addresses_for_user(user=request.user)) if request.user.is_authenticated else []
    if request.method == "POST":
        initial = {name: request.POST.get(name, "") for name in forms.CheckoutForm.KEPT}
    else:
        kept = request.session.get(SESSION_CHECKOUT_KEY) or {}
        initial = {name: kept[name] for name in forms.CheckoutForm.KEPT if name in kept}
        if saved and "saved_address" not in initial:
            initial["saved_address"] = str(saved[0].public_id)  # the default address comes first
    return forms.CheckoutForm(
        request.POST if bound else None,
        initial=initial,
        saved_addresses=saved,
        guest=not request.user.is_authenticated,
        countries=shipping_selectors.shipping_countries(),
    )


def _checkout_place(request, form: forms.CheckoutForm, *, basket, view):
    """Price what was entered and place the order: (the response to send, or None to show the page again with
    the form's errors; the preview, when there is one)."""
    data = form.cleaned_data
    try:
        preview = services.checkout_preview(
            basket=basket,
            user=request.user,
            shipping_address=data["address"],
            shipping_method=data["shipping_method"],
            view=view,  # priced once per request: the page, the preview and the order share it
        )
    except FlowMartError as exc:  # the basket could check out a moment ago: the method is not offered there
        form.add_error("shipping_method", exc.detail)
        return None, None
    details = services.CheckoutDetails(
        shipping_address=data["address"],
        shipping_method=data["shipping_method"],
        payment_method=data["payment_method"],
        email=data.get("email", ""),
        expected_total_minor=_int_or(request.POST.get("expected_total_minor"), preview.total_minor),
    )
    try:
        order = services.checkout_place(basket=basket, user=request.user, details=details, preview=preview)
    except FlowMartError as exc:
        number = exc.extra.get("order_number")
        if exc.code == "payment_declined" and number:  # the order page offers another card
            messages.error(request, exc.detail)
            _remember_guest_order(request, number)
            return redirect("orders:order_detail", number=number), preview
        if exc.code == "basket_changed" and "total_minor" in exc.extra:
            seen, now = (
                Money(exc.extra["expected_total_minor"], preview.currency),
                Money(preview.total_minor, preview.currency),
            )
            form.add_error(
                None,
                f"The total changed from {seen} to {now} since this page was shown (a price, the stock or "
                "delivery changed). Nothing was charged: check your order and press Pay and place order again.",
            )
            return None, preview
        if exc.status == 409:  # stock or the basket changed: the basket shows what to fix
            messages.error(request, exc.detail)
            _keep_entries(request, request.POST)
            return redirect("orders:basket"), preview
        _add_checkout_errors(form, exc)
        return None, preview
    _remember_guest_order(request, order.number)
    request.session.pop(SESSION_CHECKOUT_KEY, None)
    return redirect("orders:order_confirmation", number=order.number), preview


def _add_checkout_errors(form: forms.CheckoutForm, exc: FlowMartError) -> None:
    """A refused checkout's field errors (``shipping_address.city``, ``payment_method``) on the page's fields."""
    on_fields = False
    for key, errors in (exc.extra.get("errors") or {}).items():
        name = key.removeprefix("shipping_address.")
        if name in form.fields:
            form.add_error(name, errors)
            on_fields = True
    if not on_fields:
        form.add_error(None, exc.detail)


def _checkout_page(request, form: forms.CheckoutForm, *, basket, view, preview):
    """The page (or, for the page's script, its delivery options and summary) with delivery quoted for the address
    entered and the total of the method chosen: the total shown is ``expected_total_minor``."""
    perks = perks_for_user(user=request.user)
    address = form.delivery_address()
    quotes = services.shipping_options(basket_view=view, address=address, perks=perks)
    offered = [quote.code for quote in quotes]
    method = form.entered("shipping_method")
    method = method if method in offered else (offered[0] if offered else "")
    delivery_error = ""
    if method and (preview is None or preview.shipping_method != method):
        try:
            preview = services.checkout_preview(
                basket=basket, user=request.user, shipping_address=address, shipping_method=method, view=view
            )
        except FlowMartError as exc:
            preview, delivery_error = None, exc.detail
    elif not method:
        preview = None
    context = {
        "form": form,
        "basket": view,
        "perks": perks,
        "quotes": quotes,
        "shipping_method": method,
        "delivery_error": delivery_error,
        "preview": preview,
        "address": address,
    }
    if request.headers.get(FRAGMENT_HEADER):
        return render(request, "orders/_checkout_quote.html", context)
    context["saved_cards"] = selectors.saved_cards_for(user=request.user)
    context["chosen_card"] = request.POST.get("payment_method") if request.method == "POST" else None
    return render(request, "orders/checkout.html", context)


def _keep_entries(request, posted) -> None:
    """What the shopper entered (never the card's token), for the page when they come back from the basket."""
    request.session[SESSION_CHECKOUT_KEY] = {name: posted.get(name, "") for name in forms.CheckoutForm.KEPT}


def _display_tz(request) -> str:
    """Times are stored in UTC and shown in the customer's time zone."""
    user = request.user
    return (getattr(user, "time_zone", "") if user.is_authenticated else "") or settings.TIME_ZONE


def _int_or(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _remember_guest_order(request, number: str) -> None:
    if not request.user.is_authenticated:
        guest_order_remember(request.session, number)


def order_confirmation(request, number: str):
    order = _own_order(request, number)
    context = {"order": order, "lines": list(order.lines.all())}
    if order.user_id is None:  # a guest keeps this link: it opens the order in any browser
        context["order_link"] = services.order_link_url(order_number=order.number)
    return render(request, "orders/confirmation.html", context)


# -- guests finding their way back -------------------------------------------------------------
def order_link(request, token: str):
    """The signed link from the confirmation page and emails: this browser may open that order from now on."""
    try:
        number = services.order_link_read(token)
    except FlowMartError as exc:
        return render(
            request, "orders/order_lookup.html", {"form": forms.OrderLookupForm(), "error": exc.detail}, status=400
        )
    guest_order_remember(request.session, number)
    return redirect("orders:order_detail", number=number)


@require_http_methods(["GET", "POST"])
def order_lookup(request):
    """Order number + email: the link is emailed to that address (never shown here), and the answer is the
    same whether or not they matched, so the page tells nobody which orders or emails exist."""
    form = forms.OrderLookupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        if not ratelimit.consume(request, action="order_lookup", key=email):
            form.add_error(None, "Too many lookups. Please wait a few minutes and try again.")
            return render(request, "orders/order_lookup.html", {"form": form}, status=429)
        services.order_link_request(number=form.cleaned_data["number"], email=email)
        context = {"sent_to": email, "link_days": settings.ORDER_LINK_MAX_AGE_DAYS}
        return render(request, "orders/order_lookup.html", context)
    return render(request, "orders/order_lookup.html", {"form": form}, status=400 if form.errors else 200)


# -- orders -------------------------------------------------------------------------------------
@login_required
def order_list(request):
    return render(
        request,
        "orders/order_list.html",
        {"orders": selectors.order_list_for_user(user=request.user), "display_tz": _display_tz(request)},
    )


def order_detail(request, number: str):
    page = selectors.order_page(order=_own_order(request, number))
    page["cancel_form"] = forms.CancelForm()
    page["display_tz"] = _display_tz(request)
    page["payment_form"] = forms.PaymentForm(saved_methods=selectors.saved_cards_for(user=request.user))
    return render(request, "orders/order_detail.html", page)


@require_POST
def order_cancel(request, number: str):
    order = _own_order(request, number)
    form = forms.CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Your order was not cancelled: " + " ".join(form.errors.get("reason", [])))
        return redirect("orders:order_detail", number=number)
    try:
        services.order_cancel(order=order, by=request.user, actor="customer", reason=form.cleaned_data["reason"])
        messages.success(request, f"Order {order.number} is cancelled. Any payment hold has been released.")
    except FlowMartError as exc:
        messages.error(request, exc.detail)
    return redirect("orders:order_detail", number=number)


@require_POST
def order_payment_retry(request, number: str):
    order = _own_order(request, number)
    form = forms.PaymentForm(request.POST, saved_methods=selectors.saved_cards_for(user=request.user))
    if not form.is_valid():
        messages.error(request, "Choose a card.")
        return redirect("orders:order_detail", number=number)
    try:
        services.order_payment_retry(order=order, payment_method=form.cleaned_data["payment_method"], by=request.user)
        messages.success(request, "Thank you: your payment went through and your order is confirmed.")
    except FlowMartError as exc:
        messages.error(request, exc.detail)
    return redirect("orders:order_detail", number=number)


@require_POST
def order_delivery_choice(request, number: str, shipment_number: str):
    order = _own_order(request, number)
    form = forms.DeliveryChoiceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose re-delivery or pick-up.")
        return redirect("orders:order_detail", number=number)
    try:
        services.order_delivery_choose(order=order, shipment_number=shipment_number, choice=form.cleaned_data["choice"])
        messages.success(request, "Thank you: we passed your choice to the carrier.")
    except FlowMartError as exc:
        messages.error(request, exc.detail)
    return redirect("orders:order_detail", number=number)


@require_http_methods(["GET", "POST"])
def order_amend(request, number: str):
    order = _own_order(request, number)
    if not order.can_amend():
        messages.error(request, "This order can no longer be changed.")
        return redirect("orders:order_detail", number=number)
    form = forms.AmendForm(request.POST or None, order=order)
    if request.method == "POST" and form.is_valid():
        try:
            address = form.address()
            services.order_amend(
                order=order,
                quantities=form.quantities(),
                shipping_address=address if address != order.shipping_address else None,
                by=request.user,
            )
            messages.success(request, "Your order was updated.")
            return redirect("orders:order_detail", number=number)
        except FlowMartError as exc:
            messages.error(request, exc.detail)
    return render(request, "orders/order_amend.html", {"order": order, "form": form})


@require_http_methods(["GET", "POST"])
def order_exchange(request, number: str):
    """Exchange delivered items for another variant of the same product (``order_exchange_request``); a guest
    too, on an order this browser may open (its signed link)."""
    order = _own_order(request, number)
    user_id = order.user.public_id if order.user_id else None
    options = selectors.exchange_options(order=order, user_id=user_id)
    if options is None:
        raise Http404("No such order")
    form = forms.ExchangeForm(
        request.POST or None, options=options, reason_codes=shipping_selectors.return_reason_codes()
    )
    if request.method == "POST" and form.is_valid():
        try:
            rma = services.order_exchange_request(
                order=order,
                user_id=user_id,
                lines=form.cleaned_data["lines"],
                reason=form.cleaned_data["reason"],
                reason_code=form.cleaned_data["reason_code"],
                by=request.user if request.user.is_authenticated else None,
            )
        except FlowMartError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, f"Exchange {rma.rma_number} requested. We will email you when it is approved.")
            return redirect("shipping:return-detail", rma_number=rma.rma_number)
    return render(request, "orders/order_exchange.html", {"order": order, "form": form, "options": options})
