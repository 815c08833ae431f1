"""Storefront pages of the shipping app: parcel tracking and the customer's returns."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from flowmart.errors import FlowMartError
from shipping import selectors, services
from shipping.forms import ReturnRequestForm, TrackingLookupForm


def tracking_lookup(request):
    form = TrackingLookupForm(request.GET or None)
    if form.is_valid():
        return redirect("shipping:tracking", number=form.cleaned_data["number"].strip())
    return render(request, "shipping/tracking.html", {"form": form, "tracking": None})


def tracking(request, number: str):
    found = selectors.tracking_for_number(tracking_number=number)
    context = {"form": TrackingLookupForm(initial={"number": number}), "tracking": found, "number": number}
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


@login_required
@require_http_methods(["GET", "POST"])
def return_new(request, order_number: str):
    user_id = str(request.user.public_id)
    returnable = selectors.returnable_lines_for_order(order_number=order_number, user_id=user_id)
    if returnable is None:
        raise Http404
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
            return redirect("shipping:return-detail", rma_number=rma.rma_number)
    context = {
        "form": form,
        "order_number": order_number,
        "returnable": returnable,
        "return_window_days": settings.RETURN_WINDOW_DAYS,
    }
    return render(request, "shipping/return_new.html", context)
