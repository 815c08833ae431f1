"""A local stand-in for the few Stripe HTTP endpoints the Stripe adapter calls (no network in tests).

It keeps PaymentIntents in memory, honours ``Idempotency-Key`` like Stripe
(same key: the stored response is replayed) and can "lose" the first response
of an operation (the work is done, the connection drops) to exercise retries.
It keeps a balance-transaction ledger (captures and refunds; tests add dispute rows with ``balance_add``) for
``GET /v1/balance_transactions``, and disputes (seeded by tests in ``disputes``) for ``POST /v1/disputes/{id}``.
It answers ``/v1/payment_intents/search`` for the clauses the adapter sends
(``metadata['k']:'v'``, ``status:'v'``, ``created<n``, joined by AND), and, like
Stripe's search, can lag: with ``search_lags`` on, new intents are not found
until ``search_catch_up()``.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from tests.http_standin import HttpStandIn

CARDS = {
    "pm_card_visa": ("visa", "4242", ""),
    "pm_card_mastercard": ("mastercard", "4444", ""),
    "pm_card_chargeDeclined": ("visa", "0002", "generic_decline"),
    "pm_card_chargeDeclinedInsufficientFunds": ("visa", "9995", "insufficient_funds"),
}


class StripeStandIn(HttpStandIn):
    def __init__(self) -> None:
        self.intents: dict[str, dict] = {}
        self.balance: list[dict] = []
        self.disputes: dict[str, dict] = {}
        self.idempotent: dict[str, tuple[int, dict]] = {}
        self.requests: list[dict] = []
        self.drop_first_response_of: set[str] = set()
        self._dropped: set[str] = set()
        self.search_lags = False
        self._not_indexed: set[str] = set()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        super().__init__()

    def balance_add(self, *, intent_id: str, category: str, amount: int, fee: int = 0, source_id: str = "") -> None:
        """A balance transaction on one intent (``category``: charge | refund | dispute | dispute_reversal)."""
        intent = self.intents[intent_id]
        self.balance.append(
            {
                "id": f"txn_{next(self._ids)}",
                "object": "balance_transaction",
                "amount": amount,
                "fee": fee,
                "currency": intent["currency"],
                "created": int(time.time()),
                "reporting_category": category,
                "type": "adjustment" if category.startswith("dispute") else category,
                "source": {"id": source_id or intent["latest_charge"]["id"], "payment_intent": intent_id},
            }
        )

    def search_catch_up(self) -> None:
        """Stripe's search index has caught up: every intent is searchable."""
        self._not_indexed.clear()

    # -- request handling -----------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parsed = urlparse(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode() if length else parsed.query
        params = {k: v[0] for k, v in parse_qs(raw).items()}
        metadata = {k[len("metadata[") : -1]: v for k, v in params.items() if k.startswith("metadata[")}
        if metadata:
            params = {k: v for k, v in params.items() if not k.startswith("metadata[")} | {"metadata": metadata}
        evidence = {k[len("evidence[") : -1]: v for k, v in params.items() if k.startswith("evidence[")}
        if evidence:
            params = {k: v for k, v in params.items() if not k.startswith("evidence[")} | {"evidence": evidence}
        key = handler.headers.get("Idempotency-Key")
        operation = self._operation(method, parsed.path)
        self.requests.append(
            {"method": method, "path": parsed.path, "operation": operation, "idempotency_key": key, "params": params}
        )
        with self._lock:
            if method == "POST" and key and key in self.idempotent:
                status, body = self.idempotent[key]
            else:
                status, body = self._route(method, parsed.path, params)
                if method == "POST" and key:
                    self.idempotent[key] = (status, body)
                    if operation in self.drop_first_response_of and key not in self._dropped:
                        self._dropped.add(key)
                        handler.close_connection = True
                        handler.connection.close()  # the work is done, but the answer never arrives
                        return
        payload = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    @staticmethod
    def _operation(method: str, path: str) -> str:
        parts = path.strip("/").split("/")
        if parts[1:2] == ["refunds"]:
            return "refund"
        if parts[1:2] == ["disputes"]:
            return "dispute_update"
        if parts[1:2] == ["balance_transactions"]:
            return "balance_transactions"
        if parts[1:2] == ["payment_intents"]:
            if len(parts) == 2:
                return "authorize" if method == "POST" else "list"
            if parts[2] == "search":
                return "search"
            if len(parts) == 4:
                return {"capture": "capture", "cancel": "void"}[parts[3]]
            return "retrieve"
        return "payment_method"

    def _error(self, status: int, **error) -> tuple[int, dict]:
        return status, {"error": error}

    def _route(self, method: str, path: str, p: dict) -> tuple[int, dict]:
        parts = path.strip("/").split("/")
        if parts[1] == "payment_methods" and method == "GET":
            card = CARDS.get(parts[2])
            if card is None:
                return self._error(
                    404, type="invalid_request_error", code="resource_missing", message="No such PaymentMethod"
                )
            return 200, {
                "id": parts[2],
                "object": "payment_method",
                "type": "card",
                "card": {"brand": card[0], "last4": card[1], "exp_month": 12, "exp_year": 2034},
            }
        if parts[1] == "refunds" and method == "POST":
            intent = self.intents[p["payment_intent"]]
            amount = int(p["amount"])
            charge = intent["latest_charge"]
            if amount > intent["amount_received"] - charge["amount_refunded"]:
                return self._error(400, type="invalid_request_error", code="amount_too_large", message="too large")
            charge["amount_refunded"] += amount
            refund_id = f"re_{next(self._ids)}"
            self.balance_add(intent_id=intent["id"], category="refund", amount=-amount, source_id=refund_id)
            return 200, {
                "id": refund_id,
                "object": "refund",
                "amount": amount,
                "status": "succeeded",
                "payment_intent": intent["id"],
                "metadata": p.get("metadata", {}),
            }
        if parts[1] == "balance_transactions" and method == "GET":
            gte, lt = int(p["created[gte]"]), int(p["created[lt]"])
            data = [t for t in self.balance if gte <= t["created"] < lt]
            return 200, {"object": "list", "data": data, "has_more": False, "url": "/v1/balance_transactions"}
        if parts[1] == "disputes" and method == "POST":
            dispute = self.disputes.get(parts[2])
            if dispute is None:
                return self._error(
                    404, type="invalid_request_error", code="resource_missing", message="No such dispute"
                )
            if dispute["status"] != "needs_response":
                return self._error(
                    400, type="invalid_request_error", code="dispute_already_submitted", message="already submitted"
                )
            dispute["evidence"] = p.get("evidence", {})
            if p.get("submit") == "true":
                dispute["status"] = "under_review"
            return 200, dispute
        if parts[1] == "payment_intents":
            if len(parts) == 2 and method == "POST":
                return self._create(p)
            if len(parts) == 2 and method == "GET":
                gte, lt = int(p["created[gte]"]), int(p["created[lt]"])
                data = [i for i in self.intents.values() if gte <= i["created"] < lt]
                return 200, {"object": "list", "data": data, "has_more": False, "url": "/v1/payment_intents"}
            if parts[2] == "search" and method == "GET":
                return self._search(p)
            intent = self.intents.get(parts[2])
            if intent is None:
                return self._error(404, type="invalid_request_error", code="resource_missing", message="No such intent")
            if len(parts) == 3:
                return 200, intent
            if parts[3] == "capture":
                if intent["status"] != "requires_capture":
                    return self._error(
                        400, type="invalid_request_error", code="payment_intent_unexpected_state", message="state"
                    )
                intent["status"] = "succeeded"
                intent["amount_received"] = int(p.get("amount_to_capture") or intent["amount"])
                self.balance_add(intent_id=intent["id"], category="charge", amount=intent["amount_received"])
                return 200, intent
            if parts[3] == "cancel":
                intent["status"] = "canceled"
                return 200, intent
        return self._error(404, type="invalid_request_error", code="unknown", message=f"{method} {path}")

    _CLAUSE = re.compile(
        r"^(?:metadata\['(?P<key>[^']+)'\]:'(?P<meta>[^']*)'|status:'(?P<status>[^']*)'|created<(?P<lt>\d+))$"
    )

    def _search(self, p: dict) -> tuple[int, dict]:
        tests = []
        for clause in p["query"].split(" AND "):
            match = self._CLAUSE.match(clause.strip())
            if match is None:
                return self._error(400, type="invalid_request_error", code="parameter_invalid", message=clause)
            if match["key"]:
                tests.append(lambda i, k=match["key"], v=match["meta"]: i.get("metadata", {}).get(k) == v)
            elif match["status"]:
                tests.append(lambda i, v=match["status"]: i["status"] == v)
            else:
                tests.append(lambda i, v=int(match["lt"]): i["created"] < v)
        found = [
            i for i in self.intents.values() if i["id"] not in self._not_indexed and all(test(i) for test in tests)
        ]
        start, limit = int(p.get("page") or 0), int(p.get("limit") or 10)
        page = found[start : start + limit]
        more = start + limit < len(found)
        return 200, {
            "object": "search_result",
            "data": page,
            "has_more": more,
            "next_page": str(start + limit) if more else None,
            "url": "/v1/payment_intents/search",
        }

    def _create(self, p: dict) -> tuple[int, dict]:
        card = CARDS.get(p.get("payment_method", ""))
        if card is None:
            return self._error(
                400,
                type="invalid_request_error",
                code="resource_missing",
                param="payment_method",
                message="No such PaymentMethod",
            )
        n = next(self._ids)
        intent = {
            "id": f"pi_{n}",
            "object": "payment_intent",
            "amount": int(p["amount"]),
            "amount_received": 0,
            "currency": p["currency"],
            "capture_method": p["capture_method"],
            "metadata": p.get("metadata", {}),
            "status": "requires_capture",
            "created": int(time.time()),
            "latest_charge": {
                "id": f"ch_{n}",
                "object": "charge",
                "amount_refunded": 0,
                "payment_method_details": {"card": {"brand": card[0], "last4": card[1]}},
            },
        }
        if self.search_lags:
            self._not_indexed.add(intent["id"])
        if card[2]:
            intent["status"] = "requires_payment_method"
            self.intents[intent["id"]] = intent
            return self._error(
                402,
                type="card_error",
                code="card_declined",
                decline_code=card[2],
                message="Your card was declined.",
                payment_intent=intent,
            )
        self.intents[intent["id"]] = intent
        return 200, intent
