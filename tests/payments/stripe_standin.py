"""A stand-in for Stripe's API on loopback: the few calls the portal makes through the official
`stripe` library (STRIPE_API_BASE points here), Stripe's hosted checkout page, and webhooks signed
exactly as Stripe signs them. The only stand-in of the payment tests.

- POST /v1/checkout/sessions, GET /v1/checkout/sessions/<id>, POST /v1/checkout/sessions/<id>/expire,
  POST /v1/refunds: form-encoded bodies as the library sends them (`a[b][0][c]=1`), JSON answers
  shaped like Stripe's objects; every request is kept (`requests`) so tests see what was asked.
- GET /pay/<id>: the hosted page (a "Pay" button); POST /pay/<id> (or `pay(id)`): the session is
  paid, the signed `checkout.session.completed` webhook is sent to the portal (`deliver`), and the
  browser is sent to the session's success_url.
- `fail_with = (status, type)`: every API call answers that error until cleared.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import requests as http


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header of `payload`: t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<payload>")>."""
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


_ids = itertools.count(1)


def event(event_type: str, session: dict[str, Any], event_id: str | None = None) -> str:
    """A Stripe event's JSON body about one Checkout Session."""
    return json.dumps(
        {
            "id": event_id or f"evt_test_{next(_ids):06d}",
            "object": "event",
            "api_version": "2025-01-27.acacia",
            "created": int(time.time()),
            "livemode": False,
            "type": event_type,
            "data": {"object": session},
        }
    )


def nested(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (`line_items[0][price_data][unit_amount]=2500`) back into objects."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def lists(node: Any) -> Any:
        if isinstance(node, dict):
            if node and all(k.isdigit() for k in node):
                return [lists(node[k]) for k in sorted(node, key=int)]
            return {k: lists(v) for k, v in node.items()}
        return node

    return lists(root)


@dataclass
class Received:
    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None


@dataclass
class StripeStandin:
    webhook_secret: str
    deliver: Callable[[str, str], int] | None = None  # (payload, signature) → the portal's status
    webhook_url: str | None = None  # otherwise: an HTTP POST here
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    delivered: list[tuple[str, int]] = field(default_factory=list)  # (event type, status)
    fail_with: tuple[int, str] | None = None
    url: str = ""

    # -- the server ------------------------------------------------------------------------------

    def start(self) -> StripeStandin:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                standin._handle(self, "GET")

            def do_POST(self) -> None:
                standin._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else ""
        path, _, query = handler.path.partition("?")
        params = nested(parse_qsl(body or query, keep_blank_values=True))
        if path.startswith("/pay/"):
            self._hosted_page(handler, method, path.removeprefix("/pay/"))
            return
        self.requests.append(Received(method, path, params, handler.headers.get("Idempotency-Key")))
        if self.fail_with is not None:
            status, kind = self.fail_with
            self._json(handler, status, {"error": {"type": kind, "message": "the stand-in was told to fail"}})
            return
        status, answer = self._api(method, path, params)
        self._json(handler, status, answer)

    def _json(self, handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Request-Id", f"req_{next(_ids)}")
        handler.send_header("Stripe-Should-Retry", "false")  # the library retries nothing here
        handler.end_headers()
        handler.wfile.write(data)

    # -- the API ---------------------------------------------------------------------------------

    def _api(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "POST" and path == "/v1/checkout/sessions":
            return 200, self._create_session(params)
        found = re.fullmatch(r"/v1/checkout/sessions/([^/]+)(/expire)?", path)
        if found:
            session = self.sessions.get(found.group(1))
            if session is None:
                return _not_found(found.group(1))
            if not found.group(2):
                return 200, session
            if session["status"] != "open":
                return 400, {
                    "error": {
                        "type": "invalid_request_error",
                        "message": 'Only Checkout Sessions with a status in ["open"] can be expired.',
                    }
                }
            session["status"] = "expired"
            return 200, session
        if method == "POST" and path == "/v1/refunds":
            intent = params.get("payment_intent")
            paid = [s for s in self.sessions.values() if s["payment_intent"] == intent]
            if not paid:
                return _not_found(str(intent))
            refund_id = f"re_test_{next(_ids):06d}"
            refund = {
                "id": refund_id,
                "object": "refund",
                "amount": int(params.get("amount", paid[0]["amount_total"])),
                "currency": paid[0]["currency"],
                "payment_intent": intent,
                "status": "succeeded",
            }
            self.refunds[refund_id] = refund
            return 200, refund
        return 404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL ({path})."}}

    def _create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        session_id = f"cs_test_{next(_ids):06d}"
        items = params["line_items"]
        amount = sum(int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1)) for item in items)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": params["mode"],
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": amount,
            "currency": items[0]["price_data"]["currency"],
            "client_reference_id": params.get("client_reference_id"),
            "customer_email": params.get("customer_email"),
            "metadata": params.get("metadata", {}),
            "success_url": params["success_url"],
            "cancel_url": params["cancel_url"],
            "payment_intent": None,
            "url": f"{self.url}/pay/{session_id}",
        }
        self.sessions[session_id] = session
        return session

    # -- the hosted page and the webhooks ------------------------------------------------------

    def _hosted_page(self, handler: BaseHTTPRequestHandler, method: str, session_id: str) -> None:
        session = self.sessions.get(session_id)
        if session is None:
            handler.send_error(404)
            return
        if method == "POST":
            self.pay(session_id)
            handler.send_response(303)
            handler.send_header("Location", session["success_url"])
            handler.end_headers()
            return
        amount = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
        page = (
            '<!doctype html><html lang="en"><head><title>Stand-in checkout</title></head><body><main>'
            f"<h1>Pay {amount}</h1>"
            f'<form method="post"><button type="submit">Pay {amount}</button></form>'
            f'<p><a href="{session["cancel_url"]}">Back</a></p></main></body></html>'
        ).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(page)))
        handler.end_headers()
        handler.wfile.write(page)

    def pay(self, session_id: str, *, amount_total: int | None = None) -> int:
        """The payer paid: the session is complete and paid, and its signed webhook is sent.
        `amount_total`: what Stripe reports (a tampered or mistaken amount). Returns the portal's status."""
        session = self.sessions[session_id]
        session.update(status="complete", payment_status="paid", payment_intent=f"pi_test_{next(_ids):06d}")
        if amount_total is not None:
            session["amount_total"] = amount_total
        return self.send("checkout.session.completed", session)

    def send(self, event_type: str, session: dict[str, Any], *, event_id: str | None = None) -> int:
        """Deliver one signed event about `session` to the portal; its answer's status."""
        payload = event(event_type, session, event_id)
        status = self.post(payload, sign(payload, self.webhook_secret))
        self.delivered.append((event_type, status))
        return status

    def post(self, payload: str, signature: str) -> int:
        if self.deliver is not None:
            return self.deliver(payload, signature)
        assert self.webhook_url, "the stand-in has nowhere to send its webhooks"
        response = http.post(
            self.webhook_url,
            data=payload.encode(),
            headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
            timeout=10,
        )
        return response.status_code

    def created(self) -> list[Received]:
        return [r for r in self.requests if r.method == "POST" and r.path == "/v1/checkout/sessions"]


def _not_found(what: str) -> tuple[int, dict[str, Any]]:
    return 404, {"error": {"type": "invalid_request_error", "message": f"No such object: '{what}'"}}
