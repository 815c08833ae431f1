"""Storefront pages of the notifications app."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from flowmart.errors import FlowMartError
from notifications import back_in_stock, links, preferences, selectors, services
from notifications.forms import BackInStockForm, FeedbackForm, PreferencesForm
from notifications.kinds import Category, Channel


@login_required
@require_http_methods(["GET", "POST"])
def preferences_page(request):
    matrix = preferences.preference_matrix(user=request.user)
    form = PreferencesForm(request.POST or None, matrix=matrix)
    if request.method == "POST" and form.is_valid():
        services.preferences_update(user=request.user, matrix=form.matrix())
        messages.success(request, "Your notification preferences were saved.")
        return redirect("notifications:preferences")
    return render(
        request,
        "notifications/pages/preferences.html",
        {"form": form, "channels": [Channel(c).label for c in preferences.CHANNELS]},
    )


@login_required
def history(request):
    """The customer's own messages, newest first."""
    notifications = selectors.notifications_for_user(user=request.user)[:100]
    return render(request, "notifications/pages/history.html", {"notifications": notifications})


@csrf_exempt  # RFC 8058 one-click: mail clients POST "List-Unsubscribe=One-Click" without a session
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    try:
        email, category = links.unsubscribe_token_read(token)
    except links.BadLink:
        return render(request, "notifications/pages/bad_link.html", status=404)
    context = {"email": email, "category_label": Category(category).label}
    if request.method == "POST":
        services.unsubscribe_apply(token=token)
        return render(request, "notifications/pages/unsubscribed.html", context)
    return render(request, "notifications/pages/unsubscribe.html", context)


@require_http_methods(["GET", "POST"])
def feedback(request, token: str):
    record = selectors.feedback_for_token(token=token)
    if record is None:
        return render(request, "notifications/pages/bad_link.html", status=404)
    if record.submitted_at is not None:
        return render(request, "notifications/pages/feedback_thanks.html", {"feedback": record, "already": True})
    form = FeedbackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            record = services.feedback_submit(
                token=token, rating=form.cleaned_data["rating"], comment=form.cleaned_data["comment"]
            )
        except FlowMartError as exc:
            form.add_error(None, exc.detail)
        else:
            return render(request, "notifications/pages/feedback_thanks.html", {"feedback": record})
    status = 400 if request.method == "POST" else 200
    return render(request, "notifications/pages/feedback.html", {"form": form, "feedback": record}, status=status)


@staff_member_required
def outbox(request):
    """Development: every message that went out or was tried, and what the SMS/push sandbox recorded."""
    channel = request.GET.get("channel") or None
    if channel not in (None, *preferences.CHANNELS):
        channel = None
    return render(
        request,
        "notifications/pages/outbox.html",
        {
            "notifications": selectors.sent_messages_list(channel=channel),
            "sandbox": selectors.sandbox_messages_list(limit=50),
            "channel": channel,
            "channels": preferences.CHANNELS,
        },
    )


@require_http_methods(["POST"])
def back_in_stock_request(request):
    """ "Notify me" on a product page: an htmx fragment in place of the form, or back to the page with a message."""
    form = BackInStockForm(request.POST)
    outcome, error = None, ""
    if form.is_valid():
        try:
            outcome = back_in_stock.back_in_stock_request(
                sku=form.cleaned_data["sku"], user=request.user, email=form.cleaned_data["email"]
            )
        except FlowMartError as exc:
            error = exc.detail
    else:
        error = " ".join(" ".join(errors) for errors in form.errors.values())
    if request.htmx:
        return render(
            request,
            "notifications/pages/_back_in_stock_answer.html",
            {"alert": outcome, "error": error},
            status=200 if outcome else 400,
        )
    if outcome is None:
        messages.error(request, error)
    elif outcome.confirmed_at is None:
        messages.success(request, f"Check {outcome.email}: confirm there and we will tell you when it is back.")
    else:
        messages.success(request, f"We will tell you once when {outcome.product_name} is back.")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    return redirect(next_url)


@require_http_methods(["GET", "POST"])
def back_in_stock_confirm(request, token: str):
    """The link in the confirmation email: GET asks (mail scanners follow links), POST confirms."""
    try:
        request_id = links.back_in_stock_token_read(token)
    except links.BadLink:
        return render(request, "notifications/pages/bad_link.html", status=404)
    alert = selectors.back_in_stock_request_get(request_id=request_id)
    if alert is None:
        return render(request, "notifications/pages/bad_link.html", status=404)
    if request.method == "POST":
        try:
            alert = back_in_stock.back_in_stock_confirm(token=token)
        except FlowMartError:
            return render(request, "notifications/pages/bad_link.html", status=404)
    return render(request, "notifications/pages/back_in_stock_confirm.html", {"alert": alert})
