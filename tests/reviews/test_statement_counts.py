"""The SQL statements of each key page do not grow with the number of applications (no N+1)."""

from __future__ import annotations

import pytest

from refportal.extensions import db
from refportal.references.links import link_token
from refportal.references.models import Reference
from tests.builders import logged_in, make_submitted_application
from tests.factories import make_user
from tests.reviews.helpers import add_applications, statements_for
from tests.web import Browser, csrf_token_from


@pytest.fixture
def pages(app, people):
    """Each key page with the client that may open it."""
    with app.app_context():
        reference = db.session.query(Reference).first()
        reference.status = reference.status.__class__.IN_PROGRESS
        reference.draft = None  # the link opens the form's first step at both sizes (not the summary)
        db.session.commit()
        link = f"/r/{link_token(reference)}"
    reviewer = logged_in(app, "rev@example.org")
    applicant = logged_in(app, "a@example.org")
    referee = Browser(app.test_client())
    return (
        {
            "referee form": (referee, link),
            "applicant dashboard": (applicant, "/dashboard"),
            "application page": (applicant, f"/applications/{people['application_id']}"),
            "reviewer queue": (reviewer, "/review/"),
            "reviewer queue, deep page with a filter": (reviewer, "/review/?status=submitted&sort=name&page=3"),
            "reviewer queue, items needing more": (reviewer, "/review/?verdicts=needs_more"),
            "reviewer queue, all items verified": (reviewer, "/review/?verdicts=verified&completeness=complete"),
            "application file": (reviewer, f"/review/applications/{people['application_id']}"),
            "my assigned files": (reviewer, "/review/mine"),
            "review rounds": (reviewer, "/review/rounds"),
        },
        link,
        referee,
    )


def draft_statements(app, referee, link) -> int:
    """Statements of one "save draft" POST."""
    page = referee.get(link).get_data(as_text=True)
    token = csrf_token_from(page)

    class Poster:
        def get(self, url):
            return referee.client.post(
                url, data={"csrf_token": token, "action": "save", "strengths": "x"}, follow_redirects=False
            )

    return statements_for(app, Poster(), link)


def test_statements_are_the_same_at_10_and_200_applications(app, people, pages):
    pages, link, referee = pages
    add_applications(app, 10)
    small = {name: statements_for(app, client, url) for name, (client, url) in pages.items()}
    small["draft save"] = draft_statements(app, referee, link)
    add_applications(app, 190, start=10)
    with app.app_context():
        extra = make_user(email="more@example.org")
        make_submitted_application(extra, email_prefix="more.")
    large = {name: statements_for(app, client, url) for name, (client, url) in pages.items()}
    large["draft save"] = draft_statements(app, referee, link)
    assert small == large, (small, large)
    # The signed-in user, the application with its membership, references and ratings, its round;
    # its fee account with its rows.
    assert large["application page"] <= 4, large
