"""Guards that stand behind one another, each tested on its own: removing any one of them fails a test
here even though the other layer would still catch the case in normal use."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import template_rendered

from refportal.extensions import db
from refportal.references.models import Rating, Reference, ReferenceStatus
from tests.references.helpers import full_answers, post_rating, referee_path, references, submit_rating
from tests.web import csrf_token_from


def digest_on(page: str) -> str:
    return re.search(r'name="digest" type="hidden" value="([^"]+)"', page).group(1)


def test_the_confirmation_submits_only_the_answers_the_summary_showed(app, sam_link):
    referee = app.test_client()
    summary = post_rating(referee, sam_link, full_answers(strengths="What the summary showed"), "review")
    summary_page = summary.get_data(as_text=True)
    # Meanwhile, in another tab, the draft changes.
    assert post_rating(referee, sam_link, full_answers(strengths="Changed afterwards"), "save").status_code == 302
    response = referee.post(
        f"{sam_link}/submit",
        data={"csrf_token": csrf_token_from(summary_page), "digest": digest_on(summary_page)},
        follow_redirects=True,
    )
    assert "Your answers changed since the summary was shown" in response.get_data(as_text=True)
    sam = next(r for r in references(app) if r.email == "sam@example.net")
    assert sam.status is ReferenceStatus.IN_PROGRESS and sam.rating is None


def shown_to_the_applicant(app, browser, reference_id: int, application_id: int) -> dict:
    """The context the applicant's reference page was drawn with."""
    seen = {}

    def record(sender, template, context, **extra):
        if template.name == "references/show.html":
            seen.update(context)

    with template_rendered.connected_to(record, app):
        browser.get(f"/applications/{application_id}/references/{reference_id}")
    return seen


def test_the_view_never_hands_a_waived_rating_to_the_page(app, browser, sent, outbox):
    submit_rating(app.test_client(), referee_path(outbox, "sam@example.net"), full_answers(strengths="Private"))
    sam = next(r for r in references(app) if r.email == "sam@example.net")
    assert sam.waived and sam.rating is not None
    assert shown_to_the_applicant(app, browser, sam.id, sent.id)["rating"] is None


def test_the_page_shows_nothing_of_a_waived_rating_even_if_given_one(app):
    from flask import render_template

    with app.test_request_context():
        from refportal.db import utcnow

        reference = Reference(
            id=1,
            application_id=1,
            name="Sam",
            email="sam@example.net",
            nominated_at=utcnow(),
            status=ReferenceStatus.SUBMITTED,
            waived=True,
        )
        rating = Rating(strengths="Private strengths", growth="Private growth", answers={}, recommendation=None)
        page = render_template(
            "references/show.html",
            reference=reference,
            rating=rating,
            action_form=None,
            domains=[],
            item_text=None,
            deadline=None,
        )
    assert "You waived the right" in page and "Private" not in page


def test_a_withdrawn_reference_whose_nonce_survived_still_shows_no_form(app, sent, outbox):
    """The state check alone: the link's nonce still matches, the reference is withdrawn."""
    path = referee_path(outbox, "sam@example.net")
    with app.app_context():
        db.session.execute(
            sa.update(Reference).where(Reference.email == "sam@example.net").values(status=ReferenceStatus.WITHDRAWN)
        )
        db.session.commit()
    page = app.test_client().get(path)
    assert page.status_code == 410 and "This link no longer works" in page.get_data(as_text=True)
    saving = app.test_client().post(path, data=full_answers())
    assert saving.status_code in (400, 410)
    assert next(r for r in references(app) if r.email == "sam@example.net").draft is None


def test_withdrawal_clears_the_nonce_so_the_link_dies_even_if_the_state_were_wrong(app, browser, sent, outbox):
    """The nonce alone: after a correction the old row has no nonce, so even a state put back by
    mistake leaves the old link dead."""
    path = referee_path(outbox, "sam@example.net")
    sam = next(r for r in references(app) if r.email == "sam@example.net")
    browser.submit(f"/applications/{sent.id}/references/{sam.id}/email", {"email": "sam.home@example.net"})
    with app.app_context():
        old = db.session.get(Reference, sam.id)
        assert old.status is ReferenceStatus.WITHDRAWN and old.link_nonce is None
        old.status = ReferenceStatus.INVITED  # as if the state check were missing
        db.session.commit()
    page = app.test_client().get(path)
    assert page.status_code == 410 and "Reference rating for" not in page.get_data(as_text=True)
