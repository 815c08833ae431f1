"""No model of ours orders its rows implicitly: a read that needs an order says so (issue 11).

An implicit ``Meta.ordering`` adds an ORDER BY to every query of the model, locks and related managers
included, and hides which screens depend on an order. The few kept are listed here with why.
"""

from __future__ import annotations

from django.apps import apps

OUR_APPS = {"users", "events", "inventory", "payments", "shipping", "subscriptions", "orders", "notifications"}

# label -> why a stable order is the model's defining property everywhere it is read
KEPT = {
    "orders.BasketLine": "a basket lists its lines in the order they were added (page, API, checkout)",
    "orders.OrderLine": "an order's lines are read in the order they were written (pages, API, event payloads)",
    "shipping.ShipmentLine": "a parcel's lines are read in document order (packing slip, label, pick list, payloads)",
    "shipping.ReturnLine": "a return's lines are read in document order (pages, API, label, refund)",
    "subscriptions.InvoiceLine": "an invoice's lines are read in document order (page, PDF, API)",
}


def test_no_model_of_ours_declares_an_implicit_ordering():
    implicit = {
        model._meta.label: list(model._meta.ordering)
        for model in apps.get_models()
        if model._meta.app_label in OUR_APPS and model._meta.ordering and model._meta.label not in KEPT
    }
    assert implicit == {}


def test_the_kept_orderings_still_exist():
    """An allow-list entry whose model lost its ordering is stale: remove it."""
    models = {model._meta.label: model for model in apps.get_models()}
    assert {label for label in KEPT if not models[label]._meta.ordering} == set()
