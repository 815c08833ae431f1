"""Storefront pages of the notifications app."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from flowmart.errors import FlowMartError
from notifications import links, preferences, selectors, services
from notifications.forms import FeedbackForm, PreferencesForm
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
