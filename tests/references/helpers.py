"""Shared steps for the reference tests: nominate, send, follow the link, fill the form."""

from __future__ import annotations

import re

import sqlalchemy as sa

from refportal.applications.models import Application
from refportal.extensions import db
from refportal.references.models import Reference
from refportal.references.rating_form import ITEM_KEYS
from tests.builders import settle_fees
from tests.web import csrf_token_from, link_in

REFEREES = [
    {"name": "Sam Supervisor", "email": "sam@example.net", "role": "supervisor"},
    {"name": "Rae Provider", "email": "rae@example.net", "role": "rsc_provider"},
    {"name": "Cole League", "email": "cole@example.net", "role": "colleague"},
]


def nomination(**changes) -> dict:
    data = {
        "name": "Sam Supervisor",
        "email": "sam@example.net",
        "organisation": "Riverside Family Services",
        "role": "supervisor",
        "setting": "Home visiting program",
        "known_years": "3",
        "endorsed_credential": "",
        "endorsed_category": "",
        "waived": "yes",
        "language": "en",
    }
    data.update(changes)
    return data


def nominate(browser, application_id: int, **changes):
    return browser.submit(f"/applications/{application_id}/references/", nomination(**changes))


def nominate_three(browser, application_id: int, waived=("yes", "yes", "yes")):
    for referee, waiver in zip(REFEREES, waived, strict=True):
        response = nominate(browser, application_id, waived=waiver, **referee)
        assert response.status_code == 302, response.get_data(as_text=True)


def send_requests(browser, application_id: int, *, fee_paid: bool = True):
    """Press "Send the requests"; with `fee_paid`, the application fee the requests wait for is settled
    first (the fee gate itself: tests/payments/test_fee_gates.py)."""
    if fee_paid:
        with browser.client.application.app_context():
            application = db.session.get(Application, application_id)
            if application is not None and application.is_editable:
                settle_fees(application, only_what_the_requests_need=True)
    url = f"/applications/{application_id}/references/"
    return browser.submit(f"{url}send", {}, form_url=url)


def referee_path(outbox, email: str) -> str:
    """The rating-form path from the newest e-mail to `email` that carries one (a receipt or a
    withdrawal notice carries none)."""
    with_link = [m for m in outbox(to=email) if "/r/" in m.body_text]
    assert with_link, f"no e-mail with a referee link to {email}"
    return link_in(with_link[-1].body_text, "/r/")


def references(app) -> list[Reference]:
    with app.app_context():
        found = list(db.session.scalars(sa.select(Reference).order_by(Reference.id)))
        for reference in found:
            _ = reference.rating
        db.session.expunge_all()
        return found


def full_answers(na: int = 0, **changes) -> dict:
    """A complete rating form: the first `na` items answered "not enough information"."""
    data = {f"item_{key}": ("na" if index < na else "4") for index, key in enumerate(ITEM_KEYS)}
    data.update(
        {
            "recommendation": "recommend",
            "strengths": "Warm, attuned, steady under pressure.",
            "growth": "Could document visits sooner.",
            "for_reviewers": "",
            "relationship_role": "Program supervisor",
            "relationship_setting": "Home visiting",
            "relationship_years": "3",
            "referee_role": "supervisor",
            "endorsement": "none",
            "endorsed_category": "",
            "endorsement_number": "",
            "attestation_name": "Sam Supervisor",
            "attest": "y",
        }
    )
    data.update(changes)
    return data


def post_rating(client, path: str, data: dict, action: str):
    """POST the rating form as the page does (with its CSRF token)."""
    page = client.get(path).get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf_token_from(page), "action": action, **data})


def submit_rating(client, path: str, data: dict):
    """Review, then confirm on the summary page."""
    summary = post_rating(client, path, data, "review")
    body = summary.get_data(as_text=True)
    assert summary.status_code == 200 and "Check your rating" in body, body
    digest = re.search(r'name="digest" type="hidden" value="([^"]+)"', body).group(1)
    return client.post(f"{path}/submit", data={"csrf_token": csrf_token_from(body), "digest": digest})


def prepared_submission(app, link):
    """A referee's browser on the summary page: its CSRF token and the digest of the saved answers."""
    client = app.test_client()
    summary = post_rating(client, link, full_answers(), "review").get_data(as_text=True)
    digest = re.search(r'name="digest" type="hidden" value="([^"]+)"', summary).group(1)
    return client, {"csrf_token": csrf_token_from(summary), "digest": digest}
