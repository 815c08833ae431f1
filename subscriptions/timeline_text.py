"""A membership's history in words, from its events (correlation id ``sub:<uuid>``)."""

from __future__ import annotations

from collections.abc import Callable

from flowmart.money import money_from_payload


def _money(payload: dict, field: str = "amount_minor") -> str:
    return str(money_from_payload(payload, field) or "")


def _started(p: dict) -> str:
    if p.get("status") == "trialing":
        return f"Joined {p.get('plan_name', '')}: free trial started"
    return f"Joined {p.get('plan_name', '')}: {_money(p)} charged"


def _payment_failed(p: dict) -> str:
    reason = (p.get("decline_code") or "").replace("_", " ")
    text = f"Payment of {_money(p)} for invoice {p.get('invoice_number', '')} failed" + (
        f" ({reason})" if reason else ""
    )
    return text + (": membership ends" if p.get("final") else ": we will try again")


_TEXT: dict[str, Callable[[dict], str]] = {
    "UserSubscriptionStarted": _started,
    "SubscriptionRenewed": lambda p: f"Renewed: {_money(p)} charged (invoice {p.get('invoice_number', '')})",
    "SubscriptionPlanChanged": lambda p: f"Changed plan to {p.get('plan_name', '')}",
    "SubscriptionPaused": lambda p: "Paused",
    "SubscriptionResumed": lambda p: "Resumed",
    "SubscriptionCancellationScheduled": lambda p: "Set to end at the close of the current period",
    "UserSubscriptionCancelled": lambda p: "Membership ended",
    "InvoicePaymentFailed": _payment_failed,
}


def describe(*, name: str, payload: dict) -> str | None:
    text = _TEXT.get(name)
    return text(payload) if text else None
