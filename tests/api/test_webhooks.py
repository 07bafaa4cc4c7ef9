"""Webhooks delivered to a real HTTP server on loopback: signed, retried with backoff, de-duplicable,
queued with the change itself, disabled after failures in a row (administrators told), and never
aimed at the portal's own network in production."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
import socket
import ssl
import subprocess
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from refportal.accounts.models import User
from refportal.api import webhooks
from refportal.api.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from refportal.api.webhooks import deliver_webhooks
from refportal.db import utcnow
from refportal.extensions import db
from tests.builders import logged_in


class Receiver:
    """An HTTP server on loopback that records each POST and answers `answers` in turn (then 200); with
    a TLS context, an HTTPS server that also records the host name each client asked for (SNI)."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.received: list[dict] = []
        self.answers: list[int] = []
        self.server_names: list[str | None] = []
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
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        if tls is not None:
            tls.sni_callback = lambda _socket, name, _context: self.server_names.append(name)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
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


# ---------------------------------------------------------------------------------------------
# Malformed addresses, addresses carrying a private IPv4 address, and DNS rebinding

PUBLIC = "93.184.215.14"  # a public address; the `no_internet` fixture keeps the tests from reaching it


@pytest.mark.parametrize("production", [False, True])
@pytest.mark.parametrize(
    "url",
    [
        "https://[zz]/",
        "https://[zz]:443/hooks",
        "http://[::1/hooks",
        "https://crm]example.org/",
        "https://crm.example.org:99999/",
        "https://crm.example.org:-1/",
        "https://crm.example.org:port/",
        "https://crm.example.org:0/",
        "https://crm example.org/hooks",
        "https://crm..example.org/",
        "https://-crm.example.org/",
        "https://[::1%eth0]/",
        "https://" + "a" * 64 + ".example.org/",
        "https://[v1.future]/",
    ],
)
def test_a_malformed_address_is_a_clear_form_error(app, people, url, production):
    """Each was a 500 (urlsplit's ValueError), or an endpoint no delivery could reach."""
    app.config.update(ENV_NAME="production" if production else "development")
    app.config["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"] = not production
    admin = logged_in(app, "admin@example.org")
    response = admin.submit("/admin/api/webhooks", {"url": url}, form_url="/admin/api/")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="url-error"' in page
    assert re.search(r"not a valid (web address|host name)|invalid port number", page), page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(WebhookEndpoint.id))) == 0


class Resolver:
    """socket.getaddrinfo answering made-up names from `names` (name -> a list of answers, each a list of
    addresses; each lookup takes the next answer, the last one stays); IP addresses and names that are
    not made up get the real (numeric-only) lookup, so nothing goes to a DNS server."""

    def __init__(self, monkeypatch, default: list[str] | None = None):
        self.names: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []
        real = socket.getaddrinfo

        def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002 (socket's names)
            answers = self.names.get(host)
            if answers is None:
                try:
                    return real(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
                except socket.gaierror:
                    if default is None:
                        raise
                    answers = [default]
            self.lookups.append(host)
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, port, 0, 0))
                if ":" in ip
                else (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, port))
                for ip in answer
            ]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def no_internet(monkeypatch):
    """Connections beyond loopback are refused (and listed) instead of leaving the machine."""
    attempts: list[tuple] = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not ipaddress.ip_address(address[0]).is_loopback:
            attempts.append(address[:2])
            raise ConnectionRefusedError(111, "the test lets no connection leave this machine")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


class Listener:
    """A TCP port on loopback that counts the connections reaching it (whatever they say)."""

    def __init__(self):
        self.accepted = 0
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.accepted += 1
            connection.close()

    def close(self):
        self.socket.close()


@pytest.mark.parametrize(
    "host",
    [
        "[::127.0.0.1]",  # IPv4-compatible
        "[::ffff:127.0.0.1]",  # IPv4-mapped
        "[::ffff:10.0.0.1]",
        "[::ffff:0:a00:1]",  # IPv4-translated
        "[64:ff9b::a00:1]",  # NAT64 (well-known prefix) of 10.0.0.1
        "[64:ff9b::7f00:1]",
        "[64:ff9b:1::a00:1]",  # NAT64, the local-use prefix
        "[2002:c0a8:101::]",  # 6to4 of 192.168.1.1
        "[2002:7f00:1::1]",
        "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",  # Teredo (client 192.0.2.45)
        "ipv6-loopback.example.test",  # a name resolving to such an address
    ],
)
def test_in_production_ipv6_addresses_carrying_a_private_ipv4_address_are_refused(app, people, monkeypatch, host):
    """Several of them were accepted: the IPv4 address inside counts, not how the IPv6 range is listed."""
    Resolver(monkeypatch).names["ipv6-loopback.example.test"] = [["64:ff9b::7f00:1"]]
    app.config.update(ENV_NAME="production", WEBHOOK_ALLOW_PRIVATE_ADDRESSES=False)
    admin = logged_in(app, "admin@example.org")
    response = admin.submit("/admin/api/webhooks", {"url": f"https://{host}/hooks"}, form_url="/admin/api/")
    assert response.status_code == 400 and "loopback, private or reserved" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(WebhookEndpoint.id))) == 0


def test_in_production_ipv6_addresses_carrying_a_public_ipv4_address_are_accepted(app, people):
    app.config.update(ENV_NAME="production", WEBHOOK_ALLOW_PRIVATE_ADDRESSES=False)
    admin = logged_in(app, "admin@example.org")
    for host in ("[2002:5db8:d70e::1]", "[64:ff9b::5db8:d70e]", "[2606:4700:4700::1111]"):
        register(app, admin, f"https://{host}/hooks")


EMBEDDINGS = {
    "IPv4-mapped": lambda v4, bits: (0xFFFF << 32) | v4,
    "IPv4-compatible": lambda v4, bits: v4,
    "IPv4-translated": lambda v4, bits: (0xFFFF << 48) | v4,
    "NAT64": lambda v4, bits: (0x64FF9B << 96) | v4,
    "6to4": lambda v4, bits: (0x2002 << 112) | (v4 << 80) | (bits & (2**80 - 1)),
    "Teredo": lambda v4, bits: (0x20010000 << 96) | (bits & (2**64 - 1)) << 32 | (v4 ^ 0xFFFFFFFF),
}
NOT_GLOBAL_V4 = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12"]
NOT_GLOBAL_V4 += ["192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "240.0.0.0/4"]


@settings(max_examples=200, deadline=None)
@given(
    network=st.sampled_from(NOT_GLOBAL_V4),
    offset=st.integers(min_value=0, max_value=2**32),
    embedding=st.sampled_from(sorted(EMBEDDINGS)),
    bits=st.integers(min_value=0, max_value=2**80 - 1),
)
def test_every_ipv6_form_of_a_private_ipv4_address_is_refused(network, offset, embedding, bits):
    from refportal.api.outbound import address_problem

    net = ipaddress.ip_network(network)
    v4 = net[offset % net.num_addresses]
    assume(not v4.is_global)  # a few addresses of 192.0.0.0/24 are (anycast services)
    ip = ipaddress.IPv6Address(EMBEDDINGS[embedding](int(v4), bits))
    assert address_problem(ip) is not None, (embedding, v4, ip)


def test_a_dns_answer_that_changes_after_the_check_does_not_steer_the_delivery(app, people, monkeypatch, no_internet):
    """DNS rebinding: the name resolves to a public address when the delivery checks it, to 127.0.0.1
    right after. The delivery connects to the address it checked (here refused by the test, which lets
    nothing leave the machine), never to the listener on loopback (urllib looked the name up again)."""
    listener = Listener()
    resolver = Resolver(monkeypatch)
    resolver.names["rebind.example.test"] = [[PUBLIC]]
    app.config.update(ENV_NAME="production", WEBHOOK_ALLOW_PRIVATE_ADDRESSES=False)
    try:
        admin = logged_in(app, "admin@example.org")
        register(app, admin, f"https://rebind.example.test:{listener.port}/hooks")
        decide(app, people["application_id"])
        resolver.names["rebind.example.test"] = [[PUBLIC], ["127.0.0.1"]]
        with app.app_context():
            assert deliver_webhooks().retried == 1
            delivery = db.session.scalars(sa.select(WebhookDelivery)).one()
            assert "ConnectionRefusedError" in delivery.last_error
        assert listener.accepted == 0
        assert no_internet == [(PUBLIC, listener.port)]  # the one address checked, nothing else
        # A later answer naming a private address (among others) is refused before any connection.
        resolver.names["rebind.example.test"] = [[PUBLIC, "127.0.0.1"]]
        with app.app_context():
            delivery = db.session.scalars(sa.select(WebhookDelivery)).one()
            delivery.next_attempt_at = utcnow()
            db.session.commit()
            deliver_webhooks()
            db.session.refresh(delivery)
            assert "resolves to 127.0.0.1, a loopback, private or reserved address" in delivery.last_error
        assert listener.accepted == 0 and len(no_internet) == 1
    finally:
        listener.close()


def certificate_for(folder, name: str):
    """A self-signed certificate for `name` (openssl, as tests/deploy does)."""
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
            + ["-days", "2", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}"]
            + ["-keyout", str(key), "-out", str(cert)],
            check=True,
            capture_output=True,
        )
    except FileNotFoundError:
        from tests.support import require

        require("openssl", "the openssl command makes the test's certificate")
    return cert, key


def test_https_delivery_connects_to_the_resolved_address_with_the_host_name_for_tls(app, people, monkeypatch, tmp_path):
    """A name resolving to loopback (private addresses allowed): the delivery names the host in TLS (SNI)
    and in Host, verifies the certificate against it (a certificate for another name fails), and looks
    the name up once."""
    cert, key = certificate_for(tmp_path, "hooks.example.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the portal trusts the test's certificate
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    receiver = Receiver(tls)
    resolver = Resolver(monkeypatch)
    resolver.names["hooks.example.test"] = [["127.0.0.1"]]
    resolver.names["other.example.test"] = [["127.0.0.1"]]
    try:
        admin = logged_in(app, "admin@example.org")
        secret = register(app, admin, f"https://hooks.example.test:{receiver.port}/hooks")
        register(app, admin, f"https://other.example.test:{receiver.port}/hooks")
        decide(app, people["application_id"])
        with app.app_context():
            report = deliver_webhooks()
            failed = db.session.scalars(
                sa.select(WebhookDelivery).where(WebhookDelivery.status == DeliveryStatus.QUEUED)
            ).one()
            assert (report.sent, report.retried) == (1, 1)
            assert failed.endpoint.url.startswith("https://other.example.test")
            assert "CERTIFICATE_VERIFY_FAILED" in failed.last_error
    finally:
        receiver.stop()
    [delivered] = receiver.received
    assert verify(secret, delivered)["type"] == "decision.recorded"
    assert delivered["headers"]["Host"] == f"hooks.example.test:{receiver.port}"
    assert receiver.server_names == ["hooks.example.test", "other.example.test"]
    assert resolver.lookups == ["hooks.example.test", "other.example.test"]  # once per delivery


URL_CHARACTERS = st.sampled_from(list("abcxyz0189-._~:/?#[]@!$&'()*+,;=% ") + ["ä", "ß", "\u3000", "\ufeff", "。"])
HOSTS = st.one_of(
    st.text(URL_CHARACTERS, max_size=25),
    st.ip_addresses().map(lambda ip: f"[{ip}]" if ip.version == 6 else str(ip)),
    st.ip_addresses(v=6).map(str),  # without its brackets
    st.from_regex(r"\[[0-9a-fv.:%]{0,12}\]", fullmatch=True),
)
URLS = st.one_of(
    st.text(max_size=60),
    st.builds(
        "{}{}{}{}".format,
        st.sampled_from(["https://", "http://", "HTTPS://", "ftp://", "//", "https:", "https:///", ""]),
        HOSTS,
        st.one_of(st.just(""), st.integers(-5, 100_000).map(":{}".format), st.text(URL_CHARACTERS, max_size=6)),
        st.text(URL_CHARACTERS, max_size=15),
    ),
)


def test_nothing_typed_in_the_address_field_makes_a_500(app, people, monkeypatch):
    """Generated addresses, in production (every name resolving to a public address, without DNS) and
    outside it: each is registered or refused with a message on the field, never a 500; what is
    registered parses again, with a host and a valid port."""
    from refportal.api.webhooks import check_url

    Resolver(monkeypatch, default=[PUBLIC])
    admin = logged_in(app, "admin@example.org")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', admin.get("/admin/api/").get_data(as_text=True))

    @given(url=URLS, production=st.booleans())
    @settings(max_examples=200, deadline=None, database=None)
    def check(url: str, production: bool) -> None:
        app.config.update(ENV_NAME="production" if production else "development")
        app.config["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"] = not production
        response = admin.client.post("/admin/api/webhooks", data={"csrf_token": token.group(1), "url": url})
        page = response.get_data(as_text=True)
        assert response.status_code in (200, 400), page
        if response.status_code == 400:
            assert 'id="url-error"' in page
            return
        with app.app_context():
            endpoint = db.session.scalars(sa.select(WebhookEndpoint).order_by(WebhookEndpoint.id.desc())).first()
            assert check_url(endpoint.url) == endpoint.url
            parts = urlsplit(endpoint.url)
            assert parts.hostname and 0 < (parts.port or 443) < 65536
            webhooks.delete(endpoint=endpoint, actor=db.session.get(User, endpoint.created_by_id))
            db.session.commit()

    check()
