"""Storefront pages of the shipping app: parcel tracking and the customer's returns."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from flowmart.errors import FlowMartError
from flowmart.guest_orders import guest_order_numbers
from shipping import selectors, services
from shipping.forms import ReturnRequestForm, TrackingByOrderForm, TrackingLookupForm


@require_http_methods(["GET", "POST"])
def tracking_lookup(request):
    """By tracking number (GET, to its page), or by order number + email (POST: the email stays out of URLs)."""
    form = TrackingLookupForm(request.GET or None)
    if form.is_valid():
        return redirect("shipping:tracking", number=form.cleaned_data["number"].strip())
    context = {"form": form, "tracking": None, "order_form": TrackingByOrderForm(request.POST or None)}
    if request.method == "POST" and context["order_form"].is_valid():
        data = context["order_form"].cleaned_data
        context["parcels"] = selectors.tracking_for_order(order_number=data["order_number"], email=data["email"])
        context["searched_order"] = True
        if not context["parcels"]:
            return render(request, "shipping/tracking.html", context, status=404)
    return render(request, "shipping/tracking.html", context)


def tracking(request, number: str):
    found = selectors.tracking_for_number(tracking_number=number)
    context = {
        "form": TrackingLookupForm(initial={"number": number}),
        "order_form": TrackingByOrderForm(),
        "tracking": found,
        "number": number,
    }
    return render(request, "shipping/tracking.html", context, status=200 if found else 404)


@login_required
def return_list(request):
    returns = selectors.returns_for_user(user_id=str(request.user.public_id))
    return render(request, "shipping/return_list.html", {"returns": returns})


@login_required
def return_detail(request, rma_number: str):
    rma = selectors.return_for_user(rma_number=rma_number, user_id=str(request.user.public_id))
    if rma is None:
        raise Http404
    context = {"rma": rma, "exchange_wait_days": settings.RETURN_EXCHANGE_WAIT_DAYS}
    return render(request, "shipping/return_detail.html", context)


def _returner(request, order_number: str) -> tuple[str | None, list[dict]]:
    """(user id, returnable lines) of who asks: the customer's own order, else a guest order this browser
    may open (``flowmart.guest_orders``: placed here or opened with its link); 404 for anything else."""
    returnable = None
    if request.user.is_authenticated:
        user_id = str(request.user.public_id)
        returnable = selectors.returnable_lines_for_order(order_number=order_number, user_id=user_id)
    if returnable is None and order_number in guest_order_numbers(request.session):
        user_id = None
        returnable = selectors.returnable_lines_for_order(order_number=order_number, user_id=None)
    if returnable is None:
        raise Http404
    return user_id, returnable


@require_http_methods(["GET", "POST"])
def return_new(request, order_number: str):
    if not request.user.is_authenticated and order_number not in guest_order_numbers(request.session):
        return redirect_to_login(request.get_full_path())
    user_id, returnable = _returner(request, order_number)
    form = ReturnRequestForm(request.POST or None, returnable=returnable)
    if request.method == "POST" and form.is_valid():
        try:
            rma = services.return_request(
                order_number=order_number,
                user_id=user_id,
                lines=form.cleaned_data["lines"],
                reason=form.cleaned_data["reason"],
                reason_code=form.cleaned_data["reason_code"],
                by=request.user,
            )
        except FlowMartError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, f"Return {rma.rma_number} requested. We will email you when it is approved.")
            if user_id is None:  # a guest has no returns list: back to the order, which shows the return
                return redirect("orders:order_detail", number=order_number)
            return redirect("shipping:return-detail", rma_number=rma.rma_number)
    context = {
        "form": form,
        "order_number": order_number,
        "returnable": returnable,
        "return_window_days": settings.RETURN_WINDOW_DAYS,
    }
    return render(request, "shipping/return_new.html", context)
