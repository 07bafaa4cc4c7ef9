from __future__ import annotations

from decimal import Decimal

import pytest

from refportal.accounts.models import Role
from refportal.db import utc_today
from refportal.extensions import db
from refportal.references.answers import submit_rating
from refportal.references.nomination import nominate_referee, send_requests
from refportal.references.rating_form import ITEM_KEYS
from refportal.references.roles import RefereeRole
from refportal.reviews.assignments import assign
from refportal.submission.services import submit_application
from tests.conftest import Browser
from tests.factories import declare_current_membership, make_application, make_user, record_eligibility

REFEREES = [
    ("Hana Ito", "hana@example.net", RefereeRole.SUPERVISOR),
    ("Omar Haddad", "omar@example.net", RefereeRole.RSC_PROVIDER),
    ("Lena Berg", "lena@example.net", RefereeRole.COLLEAGUE),
]


def rating_answers(name: str, score: str = "4", **items) -> dict:
    return {
        "items": {**{key: score for key in ITEM_KEYS}, **items},
        "recommendation": "recommend",
        "strengths": f"Strengths by {name}",
        "growth": f"Growth by {name}",
        "for_reviewers": "",
        "relationship_role": "Supervisor",
        "relationship_setting": "Program",
        "relationship_years": "3",
        "referee_role": "supervisor",
        "endorsement": "none",
        "attestation_name": name,
        "attest": True,
    }


def make_submitted_application(applicant, *, scores=("5", "4", "3"), email_prefix=""):
    """A category 2 IMH-E application with three counted ratings, submitted for review."""
    application = make_application(applicant, category=2)
    record_eligibility(application)
    declare_current_membership(application)
    references = [
        nominate_referee(
            application=application,
            actor=applicant,
            name=name,
            email=email_prefix + email,
            organisation="Org",
            role=role,
            setting="Program",
            known_years=Decimal(3),
            waived=True,
            endorsed_credential=None,
            endorsed_category=None,
        )
        for name, email, role in REFEREES
    ]
    send_requests(application=application, actor=applicant)
    for reference, score in zip(references, scores, strict=True):
        submit_rating(reference=reference, nonce=reference.link_nonce, answers=rating_answers(reference.name, score))
    submit_application(application=application, actor=applicant, today=utc_today())
    db.session.commit()
    return application


@pytest.fixture
def people(app):
    """Applicants A and B (A has a submitted application), a reviewer, a second reviewer, an admin."""
    with app.app_context():
        a = make_user(email="a@example.org", name="Applicant A")
        make_user(email="b@example.org", name="Applicant B")
        rita = make_user(email="rev@example.org", name="Rita Reviewer", role=Role.REVIEWER)
        rafe = make_user(email="rev2@example.org", name="Rafe Reviewer", role=Role.REVIEWER)
        admin = make_user(email="admin@example.org", name="Alex Admin", role=Role.ADMIN)
        application = make_submitted_application(a)
        for reviewer in (rita, rafe):  # the file's two reviewers
            assign(application=application, reviewer=reviewer, actor=admin)
        db.session.commit()
        return {"application_id": application.id}


def logged_in(app, email) -> Browser:
    browser = Browser(app.test_client())
    browser.login(email)
    return browser
