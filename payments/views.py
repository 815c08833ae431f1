"""Storefront pages of the payments app: the customer's saved cards."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from flowmart.errors import FlowMartError, NotFound
from payments import selectors, services
from payments.forms import SavedCardForm


@login_required
def saved_cards(request):
    error = ""
    if request.method == "POST":
        form = SavedCardForm(request.POST)
        if form.is_valid():
            try:
                method = services.payment_method_attach(
                    user_id=request.user.public_id, token=form.cleaned_data["token"]
                )
            except FlowMartError as exc:
                error = exc.detail
            else:
                messages.success(request, f"{method.brand.title()} ending in {method.last4} saved.")
                return redirect("payments:saved_cards")
        else:
            error = "Enter your card details."
    context = {
        "methods": selectors.payment_methods_for_user(user_id=request.user.public_id),
        # Never echo what was typed: it might be a card number.
        "form": SavedCardForm(),
        "error": error,
    }
    return render(request, "payments/saved_cards.html", context, status=400 if error else 200)


@login_required
@require_POST
def saved_card_remove(request, method_id):
    try:
        services.payment_method_detach(user_id=request.user.public_id, method_id=method_id)
    except NotFound as exc:  # another customer's card, or one already removed
        raise Http404("No such saved card.") from exc
    messages.success(request, "Card removed.")
    return redirect("payments:saved_cards")
