"""A local stand-in for the EasyPost HTTP endpoints the EasyPost adapter calls (no network in tests).

It speaks EasyPost's v2 JSON API closely enough for the official client: shipments with
rates, buying a rate (postage label, tracking code, tracker), refunds, trackers listed by
tracking code, and EasyPost's error bodies ``{"error": {"code", "message", "errors"}}``. A
reference can stand in for a shipment id, as in EasyPost.

Faults it can play, per operation (``create``, ``retrieve``, ``buy``, ``refund``, ``track``):

* ``fail(op, status, times=n)`` — answer ``status`` (503 service down, 429 rate limited, …) n times
* ``delay[op] = seconds`` — answer that late (the client times out first)
* ``drop_response_of.add(op)`` — do the work, then drop the connection before answering (once per op)
* ``before[op] = fn`` — run ``fn`` (e.g. someone else's purchase) just before the next ``op`` is handled
* ``stall(op, after_work=…)`` — hold the next ``op`` request (``stalled`` is set) until ``release()``, then drop
  the connection: undone (the caller's process died before the carrier acted on it), or done with the answer
  never sent (it died waiting for the answer)
* a ``to_address`` whose street contains ``UNDELIVERABLE`` is refused (422 ``ADDRESS.VERIFY.FAILURE``)
* buying a shipment twice: 422 ``SHIPMENT.POSTAGE.EXISTS``, and no second charge

``purchases`` lists every charge (one per label bought), ``refunds`` every refund requested.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from shipping.carriers.easypost_carrier import webhook_signature
from tests.http_standin import HttpStandIn

API_KEY = "EZTK_standin"
WEBHOOK_SECRET = "easypost_webhook_standin"
ORIGIN = {
    "name": "FlowMart East",
    "line1": "100 Dock Road",
    "city": "Newark",
    "region": "NJ",
    "postal_code": "07102",
    "country": "US",
    "phone": "+15550000000",
}
# (carrier, service, base price in dollars, price per ounce, delivery days)
SERVICES = [
    ("USPS", "GroundAdvantage", "5.40", "0.05", 4),
    ("USPS", "Priority", "8.15", "0.10", 2),
    ("UPS", "Ground", "11.20", "0.08", 3),
]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class EasyPostStandIn(HttpStandIn):
    url_path = "/v2"

    def __init__(self) -> None:
        self.shipments: dict[str, dict] = {}
        self.trackers: dict[str, dict] = {}  # tracking code → tracker
        self.purchases: list[dict] = []
        self.refunds: list[str] = []
        self.requests: list[dict] = []
        self.delay: dict[str, float] = {}
        self.before: dict[str, object] = {}  # op → callable run just before the request is handled
        self.drop_response_of: set[str] = set()
        self.stalled = threading.Event()
        self._stall: dict[str, bool] = {}  # op → after_work
        self._released = threading.Event()
        self._failures: dict[str, list[int]] = {}
        self._dropped: set[str] = set()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        super().__init__()

    def __exit__(self, *exc) -> None:
        self._stopping.set()  # wakes delayed answers
        self._released.set()
        super().__exit__(*exc)

    # -- faults and carrier-side events -------------------------------------------------------
    def stall(self, operation: str, *, after_work: bool) -> None:
        self._stall[operation] = after_work

    def release(self) -> None:
        self._released.set()

    def fail(self, operation: str, status: int, *, times: int = 1) -> None:
        self._failures.setdefault(operation, []).extend([status] * times)

    def advance(self, tracking_code: str, status: str, message: str, *, city: str = "Springfield") -> dict:
        """The carrier scans the parcel: one more tracking detail; returns the tracker."""
        tracker = self.trackers[tracking_code]
        tracker["status"] = status
        tracker["tracking_details"].append(
            {
                "object": "TrackingDetail",
                "datetime": _now(),
                "message": message,
                "status": status,
                "status_detail": status,
                "tracking_location": {"object": "TrackingLocation", "city": city, "state": "IL", "country": "US"},
            }
        )
        return tracker

    def webhook(self, tracking_code: str, *, secret: str) -> tuple[bytes, dict]:
        """The ``tracker.updated`` event EasyPost would POST now, and its signed headers."""
        event = {
            "id": f"evt_{next(self._ids)}",
            "object": "Event",
            "mode": "test",
            "description": "tracker.updated",
            "result": self.trackers[tracking_code],
        }
        body = json.dumps(event).encode()
        return body, {"X-Hmac-Signature": webhook_signature(body=body, secret=secret)}

    def charges_for(self, reference: str) -> int:
        return sum(1 for p in self.purchases if p["reference"] == reference)

    # -- request handling ---------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parsed = urlparse(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length) or b"{}") if length else {}
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        parts = parsed.path.strip("/").split("/")[1:]  # after "v2"
        operation = self._operation(method, parts)
        self.requests.append({"method": method, "path": parsed.path, "operation": operation, "body": body})
        if operation in self.delay and self._stopping.wait(self.delay[operation]):
            return
        if operation in self._stall and not self._stall[operation]:
            self._stall.pop(operation)
            self._hang_up(handler)  # never acted on
            return
        if handler.headers.get("Authorization") != f"Bearer {API_KEY}":
            status, payload = self._error(401, "APIKEY.INACTIVE", "This api key is no longer active.")
        elif self._failures.get(operation):
            failed = self._failures[operation].pop(0)
            code = "RATE_LIMITED" if failed == 429 else "INTERNAL_SERVER_ERROR"
            status, payload = self._error(failed, code, f"stand-in: {failed}")
        else:
            with self._lock:
                if operation in self.before:
                    self.before.pop(operation)()
                status, payload = self._route(method, parts, body, query)
            if self._stall.pop(operation, False):
                self._hang_up(handler)  # done; the answer never leaves
                return
            if operation in self.drop_response_of and operation not in self._dropped and status < 300:
                self._dropped.add(operation)
                handler.close_connection = True
                handler.connection.close()  # the work is done, the answer never arrives
                return
        data = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting

    def _hang_up(self, handler: BaseHTTPRequestHandler) -> None:
        self.stalled.set()
        self._released.wait(60)
        handler.close_connection = True
        handler.connection.close()

    @staticmethod
    def _operation(method: str, parts: list[str]) -> str:
        if parts[:1] == ["trackers"]:
            return "track"
        if len(parts) == 1:
            return "create"
        if len(parts) == 3:
            return parts[2]  # buy | refund
        return "retrieve"

    @staticmethod
    def _error(status: int, code: str, message: str, errors: list | None = None) -> tuple[int, dict]:
        return status, {"error": {"code": code, "message": message, "errors": errors or []}}

    def _route(self, method: str, parts: list[str], body: dict, query: dict) -> tuple[int, dict]:
        if parts[0] == "trackers" and method == "GET":
            found = [t for code, t in self.trackers.items() if code == query.get("tracking_code")]
            return 200, {"trackers": found, "has_more": False}
        if parts[0] != "shipments":
            return self._error(404, "NOT_FOUND", "The requested resource could not be found.")
        if len(parts) == 1 and method == "POST":
            return self._create(body.get("shipment") or {})
        shipment = self._lookup(parts[1])
        if shipment is None:
            return self._error(404, "NOT_FOUND", "The requested resource could not be found.")
        if len(parts) == 2:
            return 200, shipment
        if parts[2] == "buy":
            return self._buy(shipment, (body.get("rate") or {}).get("id"))
        if parts[2] == "refund":
            if shipment["refund_status"]:
                return self._error(422, "SHIPMENT.REFUND.ALREADY_SUBMITTED", "Refund already requested.")
            if not shipment["postage_label"]:
                return self._error(422, "SHIPMENT.REFUND.NOT_PURCHASED", "The shipment has no postage to refund.")
            shipment["refund_status"] = "submitted"
            self.refunds.append(shipment["id"])
            return 200, shipment
        return self._error(404, "NOT_FOUND", "The requested resource could not be found.")

    def _lookup(self, id_or_reference: str) -> dict | None:
        if id_or_reference in self.shipments:
            return self.shipments[id_or_reference]
        # EasyPost: a reference may be used in place of an id (the latest shipment with it).
        matches = [s for s in self.shipments.values() if s.get("reference") == id_or_reference]
        return matches[-1] if matches else None

    def _create(self, params: dict) -> tuple[int, dict]:
        to = params.get("to_address") or {}
        missing = [f for f in ("zip", "country") if not to.get(f)]
        if missing:
            errors = [{"field": f, "message": "cannot be blank"} for f in missing]
            return self._error(422, "ADDRESS.VERIFY.FAILURE", "Unable to verify address.", errors)
        if "UNDELIVERABLE" in str(to.get("street1") or "").upper():
            errors = [{"field": "street1", "message": "Address not found"}]
            return self._error(422, "ADDRESS.VERIFY.FAILURE", "Unable to verify address.", errors)
        n = next(self._ids)
        ounces = float((params.get("parcel") or {}).get("weight") or 0)
        shipment = {
            "id": f"shp_{n:032x}",
            "object": "Shipment",
            "mode": "test",
            "reference": params.get("reference"),
            "is_return": bool(params.get("is_return")),
            "to_address": to,
            "from_address": params.get("from_address") or {},
            "parcel": params.get("parcel") or {},
            "rates": [
                {
                    "id": f"rate_{n:04d}{i}",
                    "object": "Rate",
                    "carrier": carrier,
                    "service": service,
                    "rate": f"{float(base) + float(per_oz) * ounces:.2f}",
                    "currency": "USD",
                    "delivery_days": days,
                    "shipment_id": f"shp_{n:032x}",
                }
                for i, (carrier, service, base, per_oz, days) in enumerate(SERVICES)
            ],
            "selected_rate": None,
            "postage_label": None,
            "tracking_code": None,
            "tracker": None,
            "refund_status": None,
        }
        self.shipments[shipment["id"]] = shipment
        return 201, shipment

    def _buy(self, shipment: dict, rate_id: str | None) -> tuple[int, dict]:
        if shipment["postage_label"]:
            return self._error(422, POSTAGE_EXISTS, "Postage already exists for this shipment.")
        rate = next((r for r in shipment["rates"] if r["id"] == rate_id), None)
        if rate is None:
            return self._error(422, "SHIPMENT.RATE.INVALID", "The rate is not one of this shipment's rates.")
        n = next(self._ids)
        tracking_code = f"EZ{n:010d}"
        tracker = {
            "id": f"trk_{n:032x}",
            "object": "Tracker",
            "tracking_code": tracking_code,
            "carrier": rate["carrier"],
            "status": "pre_transit",
            "tracking_details": [
                {
                    "object": "TrackingDetail",
                    "datetime": _now(),
                    "message": "Shipping label created",
                    "status": "pre_transit",
                    "status_detail": "label_created",
                    "tracking_location": {"object": "TrackingLocation", "city": None, "state": None, "country": None},
                }
            ],
        }
        self.trackers[tracking_code] = tracker
        shipment.update(
            selected_rate=rate,
            tracking_code=tracking_code,
            tracker=tracker,
            postage_label={
                "object": "PostageLabel",
                "label_url": f"https://easypost-files.example/files/postage_label/{shipment['id']}.pdf",
            },
        )
        self.purchases.append({"shipment": shipment["id"], "reference": shipment["reference"], "rate": rate})
        return 200, shipment


POSTAGE_EXISTS = "SHIPMENT.POSTAGE.EXISTS"


@contextmanager
def easypost_configured(settings) -> Iterator[EasyPostStandIn]:
    """A running stand-in, with the shop's EasyPost settings pointing at it (pytest-django's ``settings``)."""
    with EasyPostStandIn() as standin:
        settings.EASYPOST_API_KEY = API_KEY
        settings.EASYPOST_API_BASE = standin.url
        settings.EASYPOST_WEBHOOK_SECRET = WEBHOOK_SECRET
        settings.EASYPOST_FROM_ADDRESSES = {"default": ORIGIN}
        settings.EASYPOST_TIMEOUT_SECONDS = 5
        settings.SHIPPING_LIVE_RATE_TIMEOUT_SECONDS = 0.5
        yield standin
