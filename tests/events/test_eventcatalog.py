"""``manage.py event_catalog --format eventcatalog OUT/``: an EventCatalog project generated from the code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from flowmart.events.base import registered_events
from flowmart.events.eventcatalog import service_id
from flowmart.events.flows import Flow, Next, Step, flow_check
from flowmart.events.registry import subscriptions_for
from flowmart.events.schema import event_payload_schema
from orders.events import OrderConfirmed, OrderPlaced


def _frontmatter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), path
    front, _, body = text[4:].partition("\n---\n")
    assert body.strip(), f"{path} has no body"
    return yaml.safe_load(front)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("eventcatalog")
    call_command("event_catalog", str(out), "--format", "eventcatalog")
    return out


def _app_of(handler_name: str) -> str:
    from django.apps import apps

    return apps.get_containing_app_config(handler_name).label


def test_every_registered_event_has_a_page_and_its_payload_schema(catalog):
    assert sorted(p.name for p in (catalog / "events").iterdir()) == sorted(registered_events())
    for name, cls in registered_events().items():
        front = _frontmatter(catalog / "events" / name / "index.mdx")
        assert (front["id"], front["version"], front["schemaPath"]) == (name, f"{cls.version}.0.0", "schema.json")
        schema = json.loads((catalog / "events" / name / "schema.json").read_text())
        assert schema == {"$schema": "http://json-schema.org/draft-07/schema#", **event_payload_schema(cls)}


def test_services_send_what_they_produce_and_receive_what_their_handlers_subscribe_to(catalog):
    services = {p.name: _frontmatter(p / "index.mdx") for p in (catalog / "services").iterdir() if p.is_dir()}
    for name, cls in registered_events().items():
        producer = services[service_id(cls.producer)]
        assert {"id": name, "version": f"{cls.version}.0.0"} in producer["sends"]
        for subscription in subscriptions_for(name):
            consumer = services[service_id(_app_of(subscription.handler_name))]
            assert name in [m["id"] for m in consumer["receives"]], subscription.handler_name
            assert subscription.handler_name in (catalog / "services" / consumer["id"] / "index.mdx").read_text()
    assert services["OrdersService"]["name"] == "Orders"


def test_domains_group_existing_services(catalog):
    service_ids = {p.name for p in (catalog / "services").iterdir()}
    domains = {p.name: _frontmatter(p / "index.mdx") for p in (catalog / "domains").iterdir()}
    assert {s["id"] for d in domains.values() for s in d["services"]} == service_ids
    assert [s["id"] for s in domains["Sales"]["services"]] == ["OrdersService"]


def test_the_checkout_saga_and_fulfilment_are_flows_of_existing_events_and_services(catalog):
    services = {p.name for p in (catalog / "services").iterdir()}
    for flow_id in ("CheckoutSaga", "OrderFulfilment"):
        front = _frontmatter(catalog / "flows" / flow_id / "index.mdx")
        step_ids = {s["id"] for s in front["steps"]}
        for step in front["steps"]:
            if "message" in step:
                assert step["message"]["id"] in registered_events()
            if "service" in step:
                assert step["service"]["id"] in services
            nexts = step.get("next_steps", []) + ([step["next_step"]] if "next_step" in step else [])
            assert {n["id"] for n in nexts} <= step_ids
    saga = _frontmatter(catalog / "flows" / "CheckoutSaga" / "index.mdx")
    assert [s["message"]["id"] for s in saga["steps"] if "message" in s][:4] == [
        "UserCheckedOut",
        "OrderPlaced",
        "InventoryReserved",
        "PaymentProcessed",
    ]


def test_the_config_and_package_let_eventcatalog_build_it(catalog):
    config = (catalog / "eventcatalog.config.js").read_text()
    assert "module.exports = {" in config and '"cId":' in config and '"organizationName": "FlowMart"' in config
    package = json.loads((catalog / "package.json").read_text())
    assert package["scripts"]["build"] == "eventcatalog build"
    assert package["dependencies"] == {"@eventcatalog/core": "3.48.4"}


def test_a_flow_that_drifts_from_the_handlers_is_refused(monkeypatch, tmp_path):
    drifted = Flow(
        id="Drifted",
        name="Drifted",
        summary="shipping does not react to OrderPlaced; orders does not produce ShipmentCreated",
        steps=(
            Step("placed", "Order placed", event=OrderPlaced, next=(Next("ship"),)),
            Step("ship", "Ship", service="shipping", next=(Next("confirmed"),)),
            Step("confirmed", "Order confirmed", event=OrderConfirmed, next=(Next("nowhere"),)),
        ),
    )
    assert flow_check(drifted) == [
        "Drifted: shipping has no handler for OrderPlaced",
        "Drifted: OrderConfirmed is produced by orders, not shipping",
        "Drifted/confirmed: next step nowhere does not exist",
    ]
    monkeypatch.setattr("flowmart.events.eventcatalog.declared_flows", lambda: [drifted])
    with pytest.raises(CommandError, match="a declared flow disagrees with the handlers"):
        call_command("event_catalog", str(tmp_path), "--format", "eventcatalog")


def test_the_markdown_format_is_unchanged(capsys):
    call_command("event_catalog", "--format", "markdown")
    assert capsys.readouterr().out.startswith("# FlowMart event catalog")
