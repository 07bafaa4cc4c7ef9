"""The access matrix: every route × every role, with applicant A's objects as the targets.

Roles: anonymous, applicant A (the owner), applicant B, the referee holding the link of A's
reference (no account), a reviewer, an administrator. A route nobody classified fails the test."""

from __future__ import annotations

import pytest

from refportal.accounts.models import Role
from refportal.references.links import issue_link, link_token
from tests.core.access import ACCESS, is_endorsement_route
from tests.factories import (
    declare_current_membership,
    make_application,
    make_scanned_document,
    make_user,
    record_eligibility,
)
from tests.web import Browser, csrf_token_from

# Who may use each endpoint (tests/core/access.py), by role.
ROLES = ("anonymous", "applicant_a", "applicant_b", "referee_of_a", "reviewer", "admin")
ALLOWED = {
    "public": set(ROLES),
    "token": set(ROLES),
    "referee": set(ROLES),
    "development": set(ROLES),
    "authenticated": {"applicant_a", "applicant_b", "reviewer", "admin"},
    "applicant": {"applicant_a", "applicant_b"},
    "owner": {"applicant_a"},
    "staff": {"reviewer", "admin"},
    "owner_or_staff": {"applicant_a", "reviewer", "admin"},  # an application's document (not a rating's form)
    "admin": {"admin"},
    "payer_or_admin": {"applicant_a", "admin"},  # a receipt: its payer (A) or an administrator
    # Machine endpoints authenticate with a bearer secret, never a session: nobody with a browser.
    "machine": set(),
}


@pytest.fixture
def world(app, outbox):
    with app.app_context():
        a = make_user(email="a@example.org")
        make_user(email="b@example.org")
        make_user(email="rev@example.org", role=Role.REVIEWER)
        make_user(email="admin@example.org", role=Role.ADMIN)
        application = make_application(a)
        record_eligibility(application)
        declare_current_membership(application)
    owner = Browser(app.test_client())
    owner.login("a@example.org")
    owner.submit(
        f"/applications/{application.id}/references/",
        {
            "name": "Sam",
            "email": "sam@example.net",
            "organisation": "Org",
            "role": "supervisor",
            "setting": "S",
            "known_years": "2",
            "endorsed_credential": "",
            "endorsed_category": "",
            "waived": "yes",
        },
    )
    with app.app_context():
        from refportal.db import utcnow
        from refportal.extensions import db
        from refportal.references.models import Reference

        reference = db.session.query(Reference).one()
        issue_link(reference, utcnow())
        from datetime import date

        from refportal.accounts.models import User
        from refportal.reviews.models import ReviewAssignment, ReviewRound

        review_round = ReviewRound(
            name="2030 Q1",
            opens_on=date(2030, 1, 1),
            submission_deadline=date(2030, 3, 31),
            review_due=date(2030, 5, 1),
        )
        reviewer = db.session.query(User).filter_by(email="rev@example.org").one()
        assignment = ReviewAssignment(application_id=application.id, reviewer_id=reviewer.id)
        from refportal.api.models import ApiKey, WebhookEndpoint

        api_key = ApiKey(name="CRM", prefix="rp_x", key_hash="0" * 64, scopes=["read:applications"])
        endpoint = WebhookEndpoint(url="https://crm.example.org/hooks", secret="s" * 64)
        from refportal.reviews.models import Decision, Review

        review = Review(
            application_id=application.id,
            reviewer_id=reviewer.id,
            cycle=1,
            outcome=Decision.ENDORSE,
            locked_at=utcnow(),
        )
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
        db.session.add_all([review_round, assignment, api_key, endpoint, review, endorsement])
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
        db.session.flush()
        reference.application.review_round_id = review_round.id  # a joined round: "delete" is refused, it stays
        document = make_scanned_document(application.id, reviewer)
        from refportal.payments.charges import find_account
        from tests.factories import ChargeFactory, FeeAccountFactory, PaymentFactory

        # The application's fee account (opened by its fees' settling, if it was), with a cheque: the
        # staff fee pages and the receipt.
        account = find_account(application_id=reference.application.id) or FeeAccountFactory(
            application=reference.application
        )
        if not account.charges:
            ChargeFactory(account=account)
        payment = PaymentFactory(account=account)
        db.session.commit()
        token = link_token(reference)
        from tests.payments.helpers import account_and_checkout

        _, checkout_id = account_and_checkout(application.id)
        ids = {
            "application_id": application.id,
            "reference_id": reference.id,
            "source_id": reference.id,
            "round_id": review_round.id,
            "assignment_id": assignment.id,
            "review_id": review.id,
            "key_id": api_key.id,
            "endpoint_id": endpoint.id,
            "user_id": a.id,
            "email_id": 1,
            "token": token,
            "endorsement_number": endorsement.number,
            "renewal_id": renewal.id,
            "account_id": account.id,
            "payment_id": payment.id,
            "number": 2,  # a rating step
            "credential": "imh-e",
            "filename": "portal.css",
            "document_id": document.id,
            "kind": "training",  # an evidence entry's kind
            "requirement": "education",  # a requirement verdict's item
            "entry_id": 1,  # no entry of the owner's application: refused
            "checkout_id": checkout_id,
        }
    clients = {
        "anonymous": Browser(app.test_client()),
        "applicant_a": owner,
        "referee_of_a": Browser(app.test_client()),
    }
    for role, email in (
        ("applicant_b", "b@example.org"),
        ("reviewer", "rev@example.org"),
        ("admin", "admin@example.org"),
    ):
        clients[role] = Browser(app.test_client())
        clients[role].login(email)
    clients["referee_of_a"].get(f"/r/{token}")  # the referee has opened their link
    return ids, clients


def denied(response) -> bool:
    # 401: an API operation asked for its key (a browser's session counts for nothing there).
    to_login = response.status_code == 302 and "/login" in response.headers["Location"]
    return response.status_code in (401, 404) or to_login


def requests_for(app, ids):
    for rule in app.url_map.iter_rules():
        values = {arg: ids[arg] for arg in rule.arguments}
        if "number" in values and is_endorsement_route(rule.rule):
            values["number"] = ids["endorsement_number"]  # elsewhere "number" is a rating step
        url = app.url_map.bind("localhost").build(rule.endpoint, values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def test_every_route_is_classified(app):
    assert {rule.endpoint for rule in app.url_map.iter_rules()} == set(ACCESS)


def test_every_route_for_every_role(app, world):
    ids, clients = world
    checked = 0
    failures = []
    for endpoint, method, url in requests_for(app, ids):
        if endpoint == "accounts.logout":
            continue  # it would end the session of the role under test; covered in test_sessions
        for role in ROLES:
            client = clients[role]
            if method == "GET":
                response = client.get(url)
            else:
                token = csrf_token_from(
                    client.get(
                        "/login" if role in ("anonymous", "referee_of_a") else "/dashboard", follow_redirects=True
                    ).get_data(as_text=True)
                )
                response = client.client.post(url, data={"csrf_token": token})
            if response.status_code >= 500:
                failures.append(f"{method} {url} as {role}: {response.status_code}")
            response.get_data()  # a streamed export's body is produced (and may fail) only as it is read
            response.close()  # and keeps its request's context until it is closed
            expected_allowed = role in ALLOWED[ACCESS[endpoint]]
            if expected_allowed == denied(response):
                got, wanted = (
                    ("denied" if denied(response) else "allowed"),
                    ("allowed" if expected_allowed else "denied"),
                )
                failures.append(f"{method} {url} as {role}: {response.status_code} ({got}, expected {wanted})")
            checked += 1
    assert not failures, "\n".join(failures)
    print(f"access matrix: {checked} route × method × role checks")
    assert checked >= 250


def test_objects_that_do_not_exist_are_404_for_everyone(app, world):
    ids, clients = world
    for url in ("/applications/999999", "/applications/999999/references/", "/review/applications/999999"):
        for role in ("applicant_a", "reviewer", "admin"):
            response = clients[role].get(url)
            assert response.status_code == 404, (url, role)


def test_another_reference_id_under_ones_own_application_is_404(app, world):
    ids, clients = world
    url = f"/applications/{ids['application_id']}/references/{ids['reference_id'] + 1000}"
    assert clients["applicant_a"].get(url).status_code == 404


OWNER_BY_ACCESS = {
    "public": "anonymous",
    "token": "anonymous",
    "referee": "referee_of_a",
    "authenticated": "applicant_a",
    "applicant": "applicant_a",
    "owner": "applicant_a",
    "staff": "reviewer",
    "admin": "admin",
    "payer_or_admin": "applicant_a",
    "development": "anonymous",
    "machine": "anonymous",
}


def test_every_post_without_a_csrf_token_is_refused_and_changes_nothing(app, world):
    import sqlalchemy as sa

    from refportal.audit.models import AuditEvent
    from refportal.extensions import db
    from refportal.mail.models import OutboxEmail

    ids, clients = world

    def state():
        with app.app_context():
            return (
                db.session.scalar(sa.select(sa.func.count(AuditEvent.id))),
                db.session.scalar(sa.select(sa.func.count(OutboxEmail.id))),
            )

    checked = 0
    for endpoint, method, url in requests_for(app, ids):
        if method != "POST" or ACCESS[endpoint] == "machine":
            continue  # no form, no CSRF token: a bearer secret (tests/mail/test_bounce_intake.py)
        before = state()
        response = clients[OWNER_BY_ACCESS[ACCESS[endpoint]]].client.post(
            url, data={"reason": "x", "email": "a@example.org"}
        )
        body = response.get_data(as_text=True)
        assert response.status_code == 400 or "Nothing you typed is lost" in body, (url, response.status_code)
        assert state() == before, url
        checked += 1
    assert checked >= 20


def test_private_pages_are_not_cached(app, world):
    ids, clients = world
    for role, url in (
        ("reviewer", f"/review/applications/{ids['application_id']}"),
        ("reviewer", "/review/"),
        ("admin", "/admin/users"),
        ("referee_of_a", f"/r/{ids['token']}"),
        ("applicant_a", f"/applications/{ids['application_id']}/references/"),
    ):
        response = clients[role].get(url)
        assert response.headers.get("Cache-Control") == "no-store", url
        assert response.headers.get("Referrer-Policy") == "same-origin", url
    for url in ("/dashboard", f"/applications/{ids['application_id']}"):
        assert clients["applicant_a"].get(url).headers.get("Cache-Control") == "no-store", url
