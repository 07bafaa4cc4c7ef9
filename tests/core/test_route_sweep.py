"""The route sweep: every rule of the URL map, each of its methods, as anonymous, applicant, referee,
reviewer and administrator, with hostile values in every path parameter, in the query string and in
every form field the portal knows (and in JSON bodies and headers for the machine endpoints) → never a
5xx, and a refused request (4xx, or a redirect with an error message) commits no change.

"No change" is measured on the database connection itself: every INSERT, UPDATE and DELETE committed
while the request ran, except the records a page makes of being read (a file's ratings read and the
reviewer's own review locked by that reading, an API key's use)."""

from __future__ import annotations

import inspect
import pkgutil
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from wtforms import Form
from wtforms.fields.core import UnboundField

import refportal
from refportal.accounts.models import Role
from refportal.extensions import db
from tests.core.access import is_endorsement_route
from tests.factories import make_scanned_document, make_user
from tests.web import Browser, csrf_token_from, link_in

BOUNCE_SECRET = "sweep-bounce-secret"
ROLES = ("anonymous", "applicant", "referee", "reviewer", "admin")

# Path parameters: a database id no row has, the largest the routes take, one past it, far past it;
# strings with control characters, markup, traversal, non-ASCII, 10,000 characters.
HOSTILE_IDS = [0, 2**31 - 1, 2**31, 2**63, 10**20]
HOSTILE_STRINGS = [
    "x",
    "\x00",
    "a\x00b",
    "\x1b[2J",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "é" * 40,
    "x" * 10_000,
    "eyJyaWQiOjF9.bad.signature",
]
# Values for every query parameter and form field at once.
HOSTILE_VALUES = [
    "-1",
    "0",
    "9" * 20,
    "-" + "9" * 20,
    "1e309",
    "NaN",
    "9999-12-31",
    "0001-01-01",
    "2199-12-31T23:59:59+14:00",
    "\x00",
    "a\x00b",
    "\x07\x1b\x7f",
    "\r\nX-Injected: 1",
    "x" * 10_000,
    "josé@example.org",
    "<a href='https://evil.example'>x</a>\"><script>alert(1)</script>",
    "[" * 500,
    "https://[zz]/",
    "https://[::127.0.0.1]:99999/x",
    "//evil.example/",
    "javascript:alert(1)",
    "",
]
# JSON bodies for the API: malformed, deeply nested, huge numbers, wrong types, NUL characters.
HOSTILE_JSON = [
    b"{",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"rows": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"rows": [{"member_number": "1", "email": "a@b.org", "name": "\\u0000", "expires_on": "9999-12-31"}]}',
    b'{"rows": [{"member_number": 1e999, "email": null, "name": [], "expires_on": {}}]}',
    b'{"rows": "' + b"x" * 10_000 + b'"}',
    b"1" * 5_000,
    b"\xff\xfe\x00",
    b"null",
    b"[]",
]
EXTRA_QUERY_NAMES = ("lang", "next", "page", "action", "changed_since", "cursor", "limit", "sort")


def _form_field_names() -> set[str]:
    """Every field name of every form class in refportal (a field of a subform is left to its form)."""
    names: set[str] = set()
    for module_info in pkgutil.walk_packages(refportal.__path__, "refportal."):
        module = __import__(module_info.name, fromlist=["_"])
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Form):
                for klass in cls.__mro__:
                    names.update(k for k, v in vars(klass).items() if isinstance(v, UnboundField))
    from refportal.references.rating_form import ITEM_KEYS

    names.update(f"item_{key}" for key in ITEM_KEYS)
    return names


FIELD_NAMES = sorted(_form_field_names() | set(EXTRA_QUERY_NAMES))


# ---------------------------------------------------------------------------------------------
# Committed writes, seen on the connection


@dataclass
class WriteLog:
    pending: dict[int, list[tuple[str, Any]]] = field(default_factory=dict)
    committed: list[tuple[str, Any]] = field(default_factory=list)

    def install(self, engine: sa.Engine) -> None:
        sa.event.listen(engine, "before_cursor_execute", self._executed)
        sa.event.listen(engine, "commit", self._commit)
        sa.event.listen(engine, "rollback", self._rollback)

    def _executed(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if re.match(r"\s*(INSERT|UPDATE|DELETE)\b", statement, re.IGNORECASE):
            self.pending.setdefault(id(conn), []).append((" ".join(statement.split())[:200], parameters))

    def _commit(self, conn) -> None:
        self.committed.extend(self.pending.pop(id(conn), []))

    def _rollback(self, conn) -> None:
        self.pending.pop(id(conn), None)

    def take(self) -> list[tuple[str, Any]]:
        taken, self.committed = self.committed, []
        return taken


# A page records that it was read, whatever else it refuses.
READING_RECORDS = ("file.ratings_read", "review.locked", "api_key.used")


def is_a_reading_record(statement: str, parameters: Any) -> bool:
    text = repr(parameters)
    if statement.startswith("INSERT INTO audit_event"):
        return any(f"'{action}'" in text for action in READING_RECORDS)
    if statement.startswith("UPDATE review SET locked_at"):
        return True
    return statement.startswith("UPDATE api_key SET last_used_at")


# ---------------------------------------------------------------------------------------------
# The world: one of everything a route can be about


@dataclass
class World:
    ids: dict[str, Any]
    clients: dict[str, Browser]
    api_key: str
    csrf: dict[str, str]


def _build_world(app) -> World:
    from refportal.api.keys import create_key
    from refportal.api.models import Scope, WebhookEndpoint
    from refportal.db import utcnow
    from refportal.mail.models import OutboxEmail
    from refportal.references.links import link_token
    from refportal.reviews.models import Decision, Review, ReviewAssignment, ReviewRound
    from tests.builders import ask_three_referees, make_submitted_application, rate, ready_application

    with app.app_context():
        a = make_user(email="a@example.org", name="Applicant A")
        make_user(email="b@example.org", name="Applicant B")
        reviewer = make_user(email="rev@example.org", name="Rita Reviewer", role=Role.REVIEWER)
        admin = make_user(email="admin@example.org", name="Alex Admin", role=Role.ADMIN)
        application = ready_application(a)
        references = ask_three_referees(application)
        rate(references[:2])
        open_reference = references[2]
        token = link_token(open_reference)
        db.session.commit()
        # A second, submitted file for the review routes.
        other = make_user(email="c@example.org", name="Applicant C")
        submitted = make_submitted_application(other, email_prefix="c-")
        review_round = ReviewRound(
            name="2030 Q1",
            opens_on=date(2030, 1, 1),
            submission_deadline=date(2030, 3, 31),
            review_due=date(2030, 5, 1),
        )
        db.session.add(review_round)
        db.session.flush()
        submitted.review_round_id = review_round.id
        assignment = ReviewAssignment(application_id=submitted.id, reviewer_id=reviewer.id)
        review = Review(
            application_id=submitted.id,
            reviewer_id=reviewer.id,
            cycle=submitted.review_cycle,
            outcome=Decision.DEFER,
            message="More RSC hours",
            locked_at=utcnow(),
        )
        key, key_value = create_key(name="CRM", scopes=list(Scope), actor=admin)
        endpoint = WebhookEndpoint(url="https://crm.example.org/hooks", secret="s" * 64, created_by_id=admin.id)
        from refportal.applications.categories import Credential
        from refportal.endorsements.models import Endorsement

        endorsement = Endorsement(
            number="IMH-7K3QX9P2",
            holder_id=a.id,
            credential=Credential.IMH_E,
            category=2,
            issued_on=date(2026, 1, 5),
            period_starts_on=date(2026, 1, 5),
            period_ends_on=date(2027, 1, 5),
        )
        db.session.add_all([assignment, review, endpoint, endorsement])
        from refportal.endorsements.models import Renewal, RenewalStatus
        from refportal.portfolio.models import Portfolio

        renewal = Renewal(  # waiting for staff: the staff renewal pages
            endorsement=endorsement,
            period_ends_on=endorsement.period_ends_on,
            portfolio=Portfolio(),
            status=RenewalStatus.SUBMITTED,
            submitted_at=utcnow(),
        )
        db.session.add(renewal)
        document = make_scanned_document(application.id, a)
        from refportal.payments.charges import find_account
        from tests.factories import ChargeFactory, FeeAccountFactory, PaymentFactory

        # The application's fee account (opened by its fees' settling, if it was), with a cheque: the
        # staff fee pages and the receipt.
        account = find_account(application_id=application.id) or FeeAccountFactory(application=application)
        if not account.charges:
            ChargeFactory(account=account)
        payment = PaymentFactory(account=account)
        db.session.commit()
        from tests.payments.helpers import account_and_checkout

        _, checkout_id = account_and_checkout(application.id)
        first_email = db.session.scalar(sa.select(sa.func.min(OutboxEmail.id)))
        ids = {
            "application_id": application.id,
            "reference_id": open_reference.id,
            "source_id": references[0].id,
            "round_id": review_round.id,
            "assignment_id": assignment.id,
            "review_id": review.id,
            "key_id": key.id,
            "endpoint_id": endpoint.id,
            "user_id": reviewer.id,
            "email_id": first_email,
            "filename": "portal.css",
            "submitted_id": submitted.id,
            "submitted_reference_id": submitted.references[0].id,
            "document_id": document.id,
            "kind": "training",  # an evidence entry's kind
            "requirement": "education",  # a requirement verdict's item
            "entry_id": 1,  # no entry of the owner's application: refused
            "reference_token": token,
            "endorsement_number": endorsement.number,
            "renewal_id": renewal.id,
            "account_id": account.id,
            "payment_id": payment.id,
            "number": 2,
            "credential": "imh-e",
            "checkout_id": checkout_id,
        }
    clients = {role: Browser(app.test_client()) for role in ROLES}
    for role, email in (
        ("applicant", "a@example.org"),
        ("reviewer", "rev@example.org"),
        ("admin", "admin@example.org"),
    ):
        clients[role].login(email)
    clients["referee"].get(f"/r/{token}")
    # Tokens of every purpose, from the e-mails the portal sends.
    anonymous = clients["anonymous"]
    anonymous.submit("/password/forgot", {"email": "b@example.org"})
    anonymous.submit(
        "/register",
        {
            "name": "New Person",
            "email": "new@example.org",
            "password": "a long passphrase 2026",
            "confirm": "a long passphrase 2026",
        },
    )
    clients["admin"].submit(
        "/admin/users/invite", {"name": "Ivy", "email": "ivy@example.org", "role": "reviewer"}, form_url="/admin/users"
    )
    clients["referee"].submit(f"/r/{token}/my-requests", {}, form_url=f"/r/{token}/my-requests")
    with app.app_context():
        bodies = {row.template: row.body_text for row in db.session.scalars(sa.select(OutboxEmail))}
    ids["tokens"] = {
        "accounts.reset_password": link_in(bodies["password_reset"], "/password/reset/").rsplit("/", 1)[1],
        "accounts.verify_email": link_in(bodies["verify_email"], "/verify-email/").rsplit("/", 1)[1],
        "accounts.accept_invitation": link_in(bodies["staff_invite"], "/welcome/").rsplit("/", 1)[1],
        "referee.my_requests": link_in(bodies["referee_requests_link"], "/r/requests/").rsplit("/", 1)[1],
    }
    csrf = {
        role: csrf_token_from(
            client.get("/login" if role in ("anonymous", "referee") else "/dashboard", follow_redirects=True).get_data(
                as_text=True
            )
        )
        for role, client in clients.items()
    }
    return World(ids=ids, clients=clients, api_key=key_value, csrf=csrf)


# ---------------------------------------------------------------------------------------------
# Requests


def _path_values(rule, world: World) -> dict[str, Any]:
    """The rule's arguments filled with the world's objects (the file routes get the submitted file)."""
    values: dict[str, Any] = {}
    for argument in rule.arguments:
        if argument == "token":
            values[argument] = world.ids["tokens"].get(rule.endpoint, world.ids["reference_token"])
        elif argument == "application_id" and rule.rule.startswith(("/review/", "/api/")):
            values[argument] = world.ids["submitted_id"]
        elif argument == "reference_id" and rule.rule.startswith("/review/"):
            values[argument] = world.ids["submitted_reference_id"]
        elif argument == "number" and is_endorsement_route(rule.rule):
            values[argument] = world.ids["endorsement_number"]  # elsewhere "number" is a rating step
        else:
            values[argument] = world.ids[argument]
    return values


def _paths(app, rule, world: World) -> list[str]:
    """The rule with its real arguments, then with each argument hostile in turn."""
    adapter = app.url_map.bind("localhost")
    good = _path_values(rule, world)
    paths = [adapter.build(rule.endpoint, good)]
    for argument in rule.arguments:
        hostile = HOSTILE_IDS if argument.endswith("_id") else HOSTILE_STRINGS
        for value in hostile:
            # Built by hand: the converters would refuse to build what a browser may still send.
            path = rule.rule
            for name, real in good.items():
                shown = value if name == argument else real
                path = re.sub(rf"<(?:[a-z]+:)?{name}>", quote(str(shown), safe=""), path)
            paths.append(path)
    return paths


@dataclass
class Tally:
    requests: int = 0
    refused: int = 0
    failures: list[str] = field(default_factory=list)


def _refused(response, client: Browser) -> bool:
    if 400 <= response.status_code < 500:
        return True
    if response.status_code in (301, 302, 303):
        with client.client.session_transaction() as session:
            return any(category == "error" for category, _ in session.get("_flashes", []))
    return False


def _check(tally: Tally, writes: WriteLog, label: str, response, client: Browser) -> None:
    tally.requests += 1
    response.get_data()  # a streamed export's body is produced (and may fail) only as it is read,
    response.close()  # and its request's context stays pushed until the body is closed
    committed = writes.take()
    if response.status_code >= 500:
        tally.failures.append(f"{label}: {response.status_code}")
        return
    if _refused(response, client):
        tally.refused += 1
        changes = [statement for statement, parameters in committed if not is_a_reading_record(statement, parameters)]
        if changes:
            tally.failures.append(f"{label}: refused ({response.status_code}) but committed {changes[:3]}")


def _label(method: str, role: str, path: str, note: str = "") -> str:
    shown = path if len(path) < 120 else path[:117] + "..."
    return f"{method} {shown} as {role}{' ' + note if note else ''}"


def _sweep_rule(app, rule, world: World, writes: WriteLog, tally: Tally) -> None:
    methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
    machine = rule.rule.startswith(("/api/", "/hooks/"))
    for role in ROLES:
        client = world.clients[role]
        headers = {"Authorization": f"Bearer {world.api_key if role == 'admin' else 'rp_nope'}"} if machine else {}
        if rule.endpoint == "hooks.bounces":
            headers = {"Authorization": f"Bearer {BOUNCE_SECRET if role == 'admin' else 'nope'}"}
        for method in methods:
            for path in _paths(app, rule, world):
                response = client.client.open(path, method=method, headers=headers, data=_form(world, role, method, {}))
                _check(tally, writes, _label(method, role, path), response, client)
            path = _paths(app, rule, world)[0]
            for value in HOSTILE_VALUES:
                fields = dict.fromkeys(FIELD_NAMES, value)
                if method == "GET":
                    response = client.client.get(path, query_string=fields, headers=headers)
                else:
                    response = client.client.open(
                        path, method=method, headers=headers, data=_form(world, role, method, fields)
                    )
                _check(tally, writes, _label(method, role, path, f"fields={value[:20]!r}"), response, client)
            if machine and method != "GET":
                for number, body in enumerate(HOSTILE_JSON):
                    for content_type in ("application/json", "message/rfc822", "text/plain; charset=utf-8"):
                        for key in (f"sweep-{role}-{number}", "k" * 500, ""):
                            response = client.client.open(
                                path,
                                method=method,
                                data=body,
                                headers={**headers, "Content-Type": content_type, "Idempotency-Key": key},
                            )
                            label = _label(method, role, path, f"body={body[:20]!r} key={key[:10]!r}")
                            _check(tally, writes, label, response, client)
            if machine and method == "GET":
                for value in HOSTILE_VALUES:
                    response = client.client.get(
                        path, query_string=dict.fromkeys(EXTRA_QUERY_NAMES, value), headers=headers
                    )
                    _check(tally, writes, _label(method, role, path, f"query={value[:20]!r}"), response, client)


# Pages every role comes back to: a value a refused or accepted request left behind must not break them.
AFTERMATH = (
    "/",
    "/dashboard",
    "/applications/{application_id}",
    "/applications/{application_id}/references/",
    "/review/",
    "/review/rounds",
    "/review/mine",
    "/review/applications/{submitted_id}",
    "/staff/mail/",
    "/admin/users",
    "/admin/api/",
    "/api/v1/applications",
    "/staff/fees",
    "/staff/fees/accounts/{account_id}",
    "/fees/receipts/{payment_id}",
)


def _revisit(world: World, writes: WriteLog, tally: Tally) -> None:
    for role in ROLES:
        client = world.clients[role]
        for page in AFTERMATH:
            path = page.format(**world.ids)
            headers = {"Authorization": f"Bearer {world.api_key}"} if path.startswith("/api/") else {}
            response = client.client.get(path, headers=headers)
            _check(tally, writes, _label("GET", role, path, "(afterwards)"), response, client)


def _form(world: World, role: str, method: str, fields: dict[str, str]) -> dict[str, str] | None:
    if method == "GET":
        return None
    return {**fields, "csrf_token": world.csrf[role]}


def _rules(app) -> list:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.endpoint != "accounts.logout"),
        key=lambda rule: (rule.rule, sorted(rule.methods)),
    )


def _endpoint_ids() -> list[str]:
    app = refportal.create_app(
        {
            "ENV_NAME": "test",
            "TESTING": True,
            "SECRET_KEY": "x" * 40,
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "MAIL_VIEWER": True,
        }
    )
    return [f"{rule.endpoint}:{'/'.join(sorted(rule.methods - {'HEAD', 'OPTIONS'}))}" for rule in _rules(app)]


ENDPOINTS = _endpoint_ids()
COUNTS_FOLDER = Path(__file__).resolve().parents[2] / "test-artifacts" / "route-sweep"


def _write_count(endpoint: str, tally: Tally) -> None:
    """One file per rule (the suite's workers each run some); `summary.txt` adds them up."""
    COUNTS_FOLDER.mkdir(parents=True, exist_ok=True)
    (COUNTS_FOLDER / f"{endpoint.replace('/', '+')}.txt").write_text(f"{tally.requests} {tally.refused}\n")
    rows = [(f.stem, *map(int, f.read_text().split())) for f in COUNTS_FOLDER.glob("*.txt") if f.stem != "summary"]
    total, refused = sum(r[1] for r in rows), sum(r[2] for r in rows)
    (COUNTS_FOLDER / "summary.txt").write_text(
        f"route sweep: {total} requests over {len(rows)} rule × methods, {refused} refused, none answered 5xx\n"
        + "".join(f"{name}: {n} requests, {r} refused\n" for name, n, r in sorted(rows))
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_no_route_answers_5xx_or_changes_anything_when_it_refuses(make_app, endpoint):
    # Errors are answered as in production (the error page, counted here), not raised into the test.
    app = make_app(BOUNCE_WEBHOOK_SECRET=BOUNCE_SECRET, REVIEWERS_READ_UNASSIGNED=True, PROPAGATE_EXCEPTIONS=False)
    world = _build_world(app)
    writes = WriteLog()
    with app.app_context():
        writes.install(db.engine)
    tally = Tally()
    name, _, methods = endpoint.partition(":")
    for rule in _rules(app):
        if rule.endpoint == name and "/".join(sorted(rule.methods - {"HEAD", "OPTIONS"})) == methods:
            _sweep_rule(app, rule, world, writes, tally)
    _revisit(world, writes, tally)
    assert tally.requests > 0
    assert not tally.failures, f"{len(tally.failures)} of {tally.requests} requests:\n" + "\n".join(tally.failures[:40])
    _write_count(endpoint, tally)


def test_the_sweep_covers_every_rule_and_a_refusal_that_writes_is_caught(make_app):
    """The sweep reaches every rule; and its write check fails a refused request that commits a change."""
    app = make_app()
    assert len(ENDPOINTS) == len(_rules(app))
    writes = WriteLog()
    with app.app_context():
        writes.install(db.engine)
        make_user(email="x@example.org")
    client = Browser(app.test_client())
    tally = Tally()
    _check(tally, writes, "a 404 after a committed INSERT", app.response_class(status=404), client)
    assert tally.failures and "committed" in tally.failures[0]
