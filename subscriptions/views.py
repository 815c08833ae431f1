"""Storefront pages of the subscriptions app: plans, subscribe, manage, invoices. Thin."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from flowmart.errors import FlowMartError
from subscriptions import selectors, services
from subscriptions.forms import CancelForm, ChangePlanForm, SubscribeForm
from subscriptions.models import SubscriptionStatus


def plans(request):
    current = selectors.subscription_current_for_user(user=request.user)
    perks = selectors.member_perks_for_user(user_id=request.user.public_id) if request.user.is_authenticated else None
    return render(
        request,
        "subscriptions/plans.html",
        {"plans": selectors.plan_list(), "current": current, "perks": perks},
    )


@login_required
def subscribe(request, code: str):
    plan = selectors.plan_get(code=code)
    if plan is None:
        raise Http404("No such plan")
    form = SubscribeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.subscription_subscribe(
                user=request.user, plan=plan, payment_method=form.cleaned_data["payment_method"], by=request.user
            )
        except FlowMartError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, f"Welcome to {plan.name}!")
            return redirect("subscriptions:manage")
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "subscriptions/subscribe.html", {"plan": plan, "form": form}, status=status)


@login_required
def manage(request):
    current = selectors.subscription_current_for_user(user=request.user)
    other_plans = []
    if current and current.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING):
        for plan in selectors.plan_list().exclude(pk=current.plan_id).filter(currency=current.plan.currency):
            net = services.subscription_change_plan_preview(subscription=current, plan=plan).net_minor
            other_plans.append({"plan": plan, "pay_now": max(net, 0), "credit": max(-net, 0)})
    return render(
        request,
        "subscriptions/manage.html",
        {
            "current": current,
            "other_plans": other_plans,
            "invoices": selectors.invoice_list_for_user(user=request.user)[:24],
            "perks": selectors.member_perks_for_user(user_id=request.user.public_id),
            "history": selectors.subscription_history(subscription=current) if current else [],
        },
    )


def _act(request, action, success: str) -> HttpResponseRedirect:
    current = selectors.subscription_current_for_user(user=request.user)
    if current is None:
        messages.error(request, "You have no membership.")
        return redirect("subscriptions:plans")
    try:
        action(current)
    except FlowMartError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, success)
    return redirect("subscriptions:manage")


@login_required
@require_POST
def change_plan(request):
    form = ChangePlanForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a plan.")
        return redirect("subscriptions:manage")
    code = form.cleaned_data["plan"]
    return _act(
        request,
        lambda sub: services.subscription_change_plan(subscription=sub, plan=code, by=request.user),
        "Your plan has been changed.",
    )


@login_required
@require_POST
def pause(request):
    return _act(
        request, lambda sub: services.subscription_pause(subscription=sub, by=request.user), "Membership paused."
    )


@login_required
@require_POST
def resume(request):
    return _act(request, lambda sub: services.subscription_resume(subscription=sub, by=request.user), "Welcome back!")


@login_required
@require_POST
def cancel(request):
    form = CancelForm(request.POST)
    at_period_end = form.is_valid() and form.cleaned_data["at_period_end"]
    return _act(
        request,
        lambda sub: services.subscription_cancel(subscription=sub, at_period_end=at_period_end, by=request.user),
        "Your membership will end at the end of the period." if at_period_end else "Your membership is cancelled.",
    )


@login_required
@require_POST
def update_card(request):
    form = SubscribeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter your card details.")
        return redirect("subscriptions:manage")
    token = form.cleaned_data["payment_method"]
    return _act(
        request,
        lambda sub: services.subscription_update_payment_method(
            subscription=sub, payment_method=token, by=request.user
        ),
        "Your card has been updated.",
    )


@login_required
@require_POST
def keep(request):
    return _act(
        request, lambda sub: services.subscription_keep(subscription=sub, by=request.user), "Your membership continues."
    )


@login_required
def invoice_detail(request, number: str):
    invoice = selectors.invoice_get_for_user(user=request.user, number=number)
    if invoice is None:
        raise Http404("No such invoice")
    return render(request, "subscriptions/invoice.html", {"invoice": invoice, "printable": False})


@login_required
def invoice_download(request, number: str):
    invoice = selectors.invoice_get_for_user(user=request.user, number=number)
    if invoice is None:
        raise Http404("No such invoice")
    response = render(request, "subscriptions/invoice_print.html", {"invoice": invoice})
    response["Content-Disposition"] = f'attachment; filename="{invoice.number}.html"'
    return response
