"""Webhooks delivered to a real HTTP server on loopback: signed, retried with backoff, de-duplicable,
queued with the change itself, disabled after failures in a row (administrators told), and never
aimed at the portal's own network in production."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from refportal.api.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from refportal.api.webhooks import deliver_webhooks
from refportal.db import utcnow
from refportal.extensions import db
from tests.reviews.conftest import logged_in


class Receiver:
    """An HTTP server on loopback that records each POST and answers `answers` in turn (then 200)."""

    def __init__(self):
        self.received: list[dict] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the http.server name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"headers": dict(self.headers), "body": body})
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"not now")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


def register(app, admin, url: str) -> str:
    response = admin.submit("/admin/api/webhooks", {"url": url}, form_url="/admin/api/")
    assert response.status_code == 200, response.get_data(as_text=True)
    return re.search(r"<pre class=\"mail-body\">([0-9a-f]{64})</pre>", response.get_data(as_text=True)).group(1)


def verify(secret: str, delivery: dict) -> dict:
    """What a receiving system does: check the signature over the timestamp and the body."""
    parts = dict(item.split("=", 1) for item in delivery["headers"]["Refportal-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + delivery["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, parts["v1"])
    return json.loads(delivery["body"])


def decide(app, people_application_id: int) -> None:
    """Both assigned reviewers endorse: the decision is recorded (one event)."""
    for email in ("rev@example.org", "rev2@example.org"):
        browser = logged_in(app, email)
        url = f"/review/applications/{people_application_id}"
        browser.submit(f"{url}/review", {"outcome": "endorse", "notes": "", "message": ""}, form_url=url)


def test_an_event_reaches_the_endpoint_signed_and_once(app, people, receiver):
    admin = logged_in(app, "admin@example.org")
    secret = register(app, admin, receiver.url)
    second = Receiver()
    try:
        other_secret = register(app, admin, second.url)
        decide(app, people["application_id"])
        with app.app_context():
            report = deliver_webhooks()
        assert (report.sent, report.retried) == (2, 0)
        [first] = [d for d in receiver.received if d["headers"]["Refportal-Event"] == "decision.recorded"]
        [copy] = [d for d in second.received if d["headers"]["Refportal-Event"] == "decision.recorded"]
    finally:
        second.stop()
    event = verify(secret, first)
    assert verify(other_secret, copy)["id"] == event["id"] == first["headers"]["Refportal-Event-Id"]
    assert event["type"] == "decision.recorded" and event["occurred_at"].endswith("+00:00")
    assert event["data"] == {"application_id": people["application_id"], "outcome": "endorse"}
    with app.app_context():
        deliver_webhooks()
    assert len(receiver.received) == 1  # delivered once
    with pytest.raises(AssertionError):  # a receiver with another secret rejects it
        verify("another secret", first)


def test_a_failing_endpoint_is_retried_with_backoff_then_succeeds(app, people, receiver):
    admin = logged_in(app, "admin@example.org")
    secret = register(app, admin, receiver.url)
    receiver.answers = [500, 503]
    decide(app, people["application_id"])
    with app.app_context():
        assert deliver_webhooks().retried == 1
        delivery = db.session.scalars(sa.select(WebhookDelivery)).one()
        assert delivery.status is DeliveryStatus.QUEUED and delivery.attempts == 1
        wait = delivery.next_attempt_at - utcnow()
        assert timedelta(seconds=55) < wait <= timedelta(seconds=60)  # WEBHOOK_RETRY_BASE_SECONDS
        assert deliver_webhooks().claimed == 0  # not due yet
        for attempt, expected in ((2, timedelta(seconds=120)), (3, None)):
            delivery.next_attempt_at = utcnow()
            db.session.commit()
            deliver_webhooks()
            db.session.refresh(delivery)
            assert delivery.attempts == attempt
            if expected:
                assert expected - timedelta(seconds=5) < delivery.next_attempt_at - utcnow() <= expected
        assert delivery.status is DeliveryStatus.SENT and delivery.last_status == 200
    assert len({d["headers"]["Refportal-Event-Id"] for d in receiver.received}) == 1  # the same event id each time
    assert all(verify(secret, d)["type"] == "decision.recorded" for d in receiver.received)
    page = admin.get("/admin/api/").get_data(as_text=True)
    assert receiver.url in page


def test_an_endpoint_failing_too_often_is_disabled_and_the_administrators_told(app, people, receiver, outbox):
    app.config["WEBHOOK_DISABLE_AFTER"] = 2
    admin = logged_in(app, "admin@example.org")
    register(app, admin, receiver.url)
    receiver.answers = [500] * 10
    decide(app, people["application_id"])
    with app.app_context():
        deliver_webhooks()
        delivery = db.session.scalars(sa.select(WebhookDelivery)).one()
        delivery.next_attempt_at = utcnow()
        db.session.commit()
        deliver_webhooks()
        endpoint = db.session.scalars(sa.select(WebhookEndpoint)).one()
        assert endpoint.disabled_at is not None and endpoint.consecutive_failures == 2
        delivery = db.session.scalars(sa.select(WebhookDelivery)).one()
        delivery.next_attempt_at = utcnow()
        db.session.commit()
        assert deliver_webhooks().claimed == 0  # nothing goes to a disabled endpoint
        endpoint_id = endpoint.id
    [notice] = [m for m in outbox("admin@example.org") if m.template == "webhook_disabled"]
    assert receiver.url in notice.body_text
    page = admin.get(f"/admin/api/webhooks/{endpoint_id}").get_data(as_text=True)
    assert "HTTP 500" in page and "Enable again" in page
    admin.submit(f"/admin/api/webhooks/{endpoint_id}/enable", {}, form_url=f"/admin/api/webhooks/{endpoint_id}")
    receiver.answers = []
    with app.app_context():
        assert deliver_webhooks().sent == 1


def test_an_event_is_queued_in_the_transaction_of_its_change(app, people, receiver):
    """A change rolled back leaves no delivery behind."""
    admin = logged_in(app, "admin@example.org")
    register(app, admin, receiver.url)
    with app.app_context():
        from refportal.accounts.models import User
        from refportal.applications.models import Application
        from refportal.membership.services import verify_membership

        reviewer = db.session.scalars(sa.select(User).where(User.email == "rev@example.org")).one()
        verify_membership(
            application=db.session.get(Application, people["application_id"]), actor=reviewer, verified=True, note=""
        )
        assert db.session.scalar(sa.select(sa.func.count(WebhookDelivery.id))) == 1  # in the session
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(WebhookDelivery.id))) == 0


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:9/hooks", "must start with https://"),
        ("https://127.0.0.1/hooks", "loopback, private or reserved"),
        ("https://10.1.2.3/hooks", "loopback, private or reserved"),
        ("https://localhost/hooks", "loopback, private or reserved"),
        ("https://[::1]/hooks", "loopback, private or reserved"),
        ("https://169.254.169.254/latest", "loopback, private or reserved"),
        ("https://user:pw@crm.example.org/", "Give a full address"),
        ("ftp://crm.example.org/", "must start with https://"),
        ("not a url", "must start with https://"),
    ],
)
def test_in_production_an_endpoint_on_the_portals_own_network_is_refused(app, people, url, message):
    app.config.update(ENV_NAME="production", WEBHOOK_ALLOW_PRIVATE_ADDRESSES=False)
    admin = logged_in(app, "admin@example.org")
    response = admin.submit("/admin/api/webhooks", {"url": url}, form_url="/admin/api/")
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(WebhookEndpoint.id))) == 0


def test_a_redirect_is_an_answer_not_followed(app, people):
    """An endpoint answering 302 to somewhere else is a failed delivery; the portal does not follow it."""

    class Redirecting(BaseHTTPRequestHandler):
        hits: list[str] = []

        def do_POST(self):  # noqa: N802
            Redirecting.hits.append(self.path)
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        admin = logged_in(app, "admin@example.org")
        register(app, admin, f"http://127.0.0.1:{server.server_address[1]}/hooks")
        decide(app, people["application_id"])
        with app.app_context():
            assert deliver_webhooks().retried == 1
            assert db.session.scalars(sa.select(WebhookDelivery)).one().last_status == 302
    finally:
        server.shutdown()
    assert Redirecting.hits == ["/hooks"]


def test_an_endpoint_answering_something_other_than_http_is_a_failure_not_a_crash(app, people):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def answer():
        connection, _ = listener.accept()
        connection.recv(65536)
        connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
        connection.close()

    threading.Thread(target=answer, daemon=True).start()
    try:
        admin = logged_in(app, "admin@example.org")
        register(app, admin, f"http://127.0.0.1:{listener.getsockname()[1]}/hooks")
        decide(app, people["application_id"])
        with app.app_context():
            assert deliver_webhooks().retried == 1
            assert "BadStatusLine" in db.session.scalars(sa.select(WebhookDelivery)).one().last_error
    finally:
        listener.close()
