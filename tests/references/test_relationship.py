"""The referee confirms the relationship the applicant declared (role, years) and says whether they
hold the Endorsement; the reviewer's file shows both sides and flags a difference."""

from __future__ import annotations

import re

from refportal.applications.categories import Credential
from refportal.references.roles import RefereeRole
from tests.references.helpers import full_answers, post_rating, references, submit_rating


def checked(page: str, name: str) -> list[str]:
    """The values of the checked radios named `name`."""
    inputs = re.findall(r"<input[^>]*>", page)
    return [
        re.search(r'value="([^"]*)"', tag).group(1)
        for tag in inputs
        if f'name="{name}"' in tag and re.search(r"\bchecked\b", tag)
    ]


def test_the_form_starts_from_what_the_applicant_declared(app, sam_link):
    page = app.test_client().get(sam_link).get_data(as_text=True)
    assert checked(page, "referee_role") == ["supervisor"]
    assert checked(page, "endorsement") == ["none"]
    assert re.search(r'<input[^>]*name="relationship_years"[^>]*value="3(\.0)?"', page)


def test_a_different_role_and_an_endorsement_are_stored_and_flagged(app, sam_link, outbox):
    from refportal.accounts.models import Role
    from tests.builders import logged_in
    from tests.factories import make_user

    answers = full_answers(
        referee_role="colleague", endorsement="imh-e", endorsed_category="3", endorsement_number="MI-2041"
    )
    assert submit_rating(app.test_client(), sam_link, answers).status_code == 200
    sam = next(r for r in references(app) if r.email == "sam@example.net")
    assert sam.rating.referee_role is RefereeRole.COLLEAGUE and sam.role is RefereeRole.SUPERVISOR
    assert (sam.rating.endorsed_credential, sam.rating.endorsed_category, sam.rating.endorsement_number) == (
        Credential.IMH_E,
        3,
        "MI-2041",
    )
    with app.app_context():
        make_user(email="rev@example.org", role=Role.REVIEWER)
    page = logged_in(app, "rev@example.org").get(f"/review/applications/{sam.application_id}").get_data(as_text=True)
    assert "Sam Supervisor describes their role as “Colleague”" in page
    assert "endorsed IMH-E category 3 (no. MI-2041)" in page


def test_an_endorsement_needs_its_category(app, sam_link):
    response = post_rating(
        app.test_client(), sam_link, full_answers(endorsement="ecmh-e", endorsed_category=""), "review"
    )
    body = response.get_data(as_text=True)
    assert "Choose the category of your endorsement." in body and "Check your rating" not in body
