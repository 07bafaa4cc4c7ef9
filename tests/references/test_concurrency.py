"""Real threads, separate database connections: one rating however many submissions race, and a
correction racing a submission ends in one consistent state."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from refportal.extensions import db
from refportal.references.models import Rating, ReferenceStatus
from tests.references.helpers import full_answers, prepared_submission, referee_path, references
from tests.support import run_together
from tests.web import csrf_token_from


def test_fifty_concurrent_submissions_store_exactly_one_rating(app, sam_link):
    prepared = [prepared_submission(app, sam_link) for _ in range(50)]
    responses = run_together(
        *[(lambda client=client, data=data: client.post(f"{sam_link}/submit", data=data)) for client, data in prepared]
    )
    assert not [r for r in responses if isinstance(r, Exception)], responses
    statuses = [r.status_code for r in responses]
    bodies = [r.get_data(as_text=True) for r in responses]
    assert statuses.count(500) == 0
    accepted = [b for b in bodies if "Your rating is submitted" in b]
    already = [b for b in bodies if "Your rating is in" in b]
    assert (len(accepted), len(already)) == (1, 49)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Rating.id))) == 1
    print(f"50 concurrent submissions: {len(accepted)} stored, {len(already)} told it was already submitted")


@pytest.mark.parametrize("attempt", range(5))
def test_a_corrected_email_racing_a_submission_leaves_one_consistent_state(app, browser, sam_link, attempt):
    sam = next(r for r in references(app) if r.email == "sam@example.net")
    referee, data = prepared_submission(app, sam_link)
    correction_url = f"/applications/{sam.application_id}/references/{sam.id}/email"
    token = csrf_token_from(browser.get(correction_url).get_data(as_text=True))
    submit, correct = run_together(
        lambda: referee.post(f"{sam_link}/submit", data=data),
        lambda: browser.client.post(
            correction_url, data={"csrf_token": token, "email": "sam.home@example.com"}, follow_redirects=True
        ),
    )
    assert submit.status_code != 500 and correct.status_code != 500
    old = next(r for r in references(app) if r.id == sam.id)
    new = [r for r in references(app) if r.email == "sam.home@example.com"]
    with app.app_context():
        ratings = db.session.scalar(sa.select(sa.func.count(Rating.id)))
    if old.status is ReferenceStatus.SUBMITTED:
        # The submission won: one rating, no corrected reference, the applicant told why.
        assert ratings == 1 and new == []
        assert "Your rating is submitted" in submit.get_data(as_text=True)
        assert "has answered already" in correct.get_data(as_text=True)
    else:
        # The correction won: no rating, the old link revoked, the answers carried to the new request.
        assert old.status is ReferenceStatus.WITHDRAWN and ratings == 0 and len(new) == 1
        assert new[0].draft == old.draft and new[0].draft["strengths"] == "Warm, attuned, steady under pressure."
        assert "This link no longer works" in submit.get_data(as_text=True)
        assert "any draft you had saved comes with it" in submit.get_data(as_text=True)


def test_answers_typed_when_the_link_was_revoked_are_given_back(app, browser, sam_link):
    sam = next(r for r in references(app) if r.email == "sam@example.net")
    referee = app.test_client()
    page = referee.get(sam_link).get_data(as_text=True)
    browser.submit(f"/applications/{sam.application_id}/references/{sam.id}/email", {"email": "sam.home@example.com"})
    response = referee.post(
        sam_link,
        data={
            "csrf_token": csrf_token_from(page),
            "action": "save",
            **full_answers(strengths="Typed while it was being replaced"),
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 410 and "This link no longer works" in body
    assert "Typed while it was being replaced" in body and "What you had just typed" in body


@pytest.mark.parametrize("attempt", range(3))
def test_a_reminder_racing_a_submission_is_consistent(app, browser, outbox, sam_link, attempt):
    sam = next(r for r in references(app) if r.email == "sam@example.net")
    referee, data = prepared_submission(app, sam_link)
    base = f"/applications/{sam.application_id}/references/"
    token = csrf_token_from(browser.get(base).get_data(as_text=True))
    submit, remind = run_together(
        lambda: referee.post(f"{sam_link}/submit", data=data),
        lambda: browser.client.post(f"{base}{sam.id}/remind", data={"csrf_token": token}, follow_redirects=True),
    )
    assert submit.status_code == 200 and "Your rating is submitted" in submit.get_data(as_text=True)
    assert remind.status_code == 200
    reminded = "A reminder is on its way" in remind.get_data(as_text=True)
    refused = "has not answered yet can be reminded" in remind.get_data(as_text=True)
    assert reminded != refused  # one clear answer either way
    stored = next(r for r in references(app) if r.id == sam.id)
    assert stored.status is ReferenceStatus.SUBMITTED and stored.rating is not None
    # The link the reminder carried (if any) is the same one: it now shows "your rating is in".
    assert "Your rating is in" in app.test_client().get(referee_path(outbox, "sam@example.net")).get_data(as_text=True)
