"""The referee's side: the signed link, drafts, the summary, submitting once, declining."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer

from refportal.db import utcnow
from refportal.extensions import db
from refportal.references.models import Rating, Reference, ReferenceStatus
from refportal.references.rating_form import ITEM_KEYS, Recommendation
from refportal.security.tokens import make_token
from tests.references.helpers import (
    full_answers,
    post_rating,
    referee_path,
    references,
    submit_rating,
)
from tests.web import csrf_token_from


@pytest.fixture
def referee(app):
    """The referee's own browser: no account, no cookies shared with the applicant."""
    return app.test_client()


def sam(app) -> Reference:
    return next(r for r in references(app) if r.email == "sam@example.net")


def test_opening_the_link_shows_the_form_and_records_opened(app, referee, sam_link):
    response = referee.get(sam_link)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Reference rating for Avery Applicant" in body and "Infant Family Specialist" in body
    assert "Step 1 of 7" in body and "About you and the applicant" in body
    competencies = referee.get(f"{sam_link}/step/2").get_data(as_text=True)
    assert "Step 2 of 7" in competencies and "infants and toddlers" in competencies  # the IMH-E wording
    assert competencies.count('value="na"') == 4  # Theoretical Foundations, Law, Systems: 4 statements
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "same-origin"
    reference = sam(app)
    assert reference.status is ReferenceStatus.OPENED and reference.opened_at


def test_opening_decides_nothing_even_when_followed_repeatedly(app, referee, sam_link):
    for _ in range(3):
        referee.get(sam_link)
        referee.get(f"{sam_link}/decline")
    reference = sam(app)
    assert reference.status is ReferenceStatus.OPENED and reference.rating is None and reference.declined_at is None


def test_a_draft_survives_closing_the_browser(app, make_app, referee, sam_link):
    answered = {f"item_{key}" for key in ITEM_KEYS[: len(ITEM_KEYS) // 2]}
    half = {key: value for key, value in full_answers().items() if key in answered or not key.startswith("item_")}
    half.pop("attest")
    response = post_rating(referee, sam_link, {**half, "strengths": "Half typed <b>bold</b>"}, "save")
    assert response.status_code == 302
    assert sam(app).status is ReferenceStatus.IN_PROGRESS
    fresh_browser = app.test_client()
    body = fresh_browser.get(f"{sam_link}/step/6").get_data(as_text=True)
    assert "Half typed &lt;b&gt;bold&lt;/b&gt;" in body
    body = fresh_browser.get(f"{sam_link}/step/2").get_data(as_text=True)
    assert (
        '<input checked id="item_theory_development-3" name="item_theory_development" type="radio" value="4">' in body
    )
    body = fresh_browser.get(sam_link).get_data(as_text=True)  # the first step not finished: the items
    assert "Step 3 of 7" in body and 'id="item_others_conflict"' in body
    body = fresh_browser.get(f"{sam_link}/step/1").get_data(as_text=True)
    assert 'value="3.0"' in body or 'value="3"' in body  # relationship years
    saved = sam(app).draft
    assert saved["items"]["theory_development"] == "4" and saved["strengths"] == "Half typed <b>bold</b>"
    assert "reflection_self" not in saved["items"]


def test_review_shows_a_summary_and_confirming_submits_once(app, referee, outbox, sam_link):
    response = submit_rating(referee, sam_link, full_answers())
    assert response.status_code == 200 and "Your rating is submitted" in response.get_data(as_text=True)
    reference = sam(app)
    assert reference.status is ReferenceStatus.SUBMITTED and reference.rating.counts
    assert reference.rating.recommendation is Recommendation.RECOMMEND
    assert reference.rating.attestation_name == "Sam Supervisor"
    # The applicant is told, without any of the content.
    [news] = outbox(to="applicant@example.org")
    assert "Sam Supervisor has submitted" in news.subject
    assert "Warm, attuned" not in news.body_text + news.body_html
    # The link now shows a friendly page and nothing of the rating.
    again = referee.get(sam_link)
    body = again.get_data(as_text=True)
    assert "Your rating is in" in body and "Warm, attuned" not in body


def test_a_second_submission_stores_no_second_rating(app, referee, sam_link):
    summary = post_rating(referee, sam_link, full_answers(), "review").get_data(as_text=True)
    import re

    digest = re.search(r'name="digest" type="hidden" value="([^"]+)"', summary).group(1)
    token = csrf_token_from(summary)
    first = referee.post(f"{sam_link}/submit", data={"csrf_token": token, "digest": digest})
    second = referee.post(f"{sam_link}/submit", data={"csrf_token": token, "digest": digest})
    assert first.status_code == 200 and "Your rating is submitted" in first.get_data(as_text=True)
    assert second.status_code == 200 and "Your rating is in" in second.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Rating.id))) == 1


def test_missing_answers_are_marked_and_everything_typed_is_kept(app, referee, sam_link):
    answers = full_answers(strengths="Kept text", recommendation="")
    del answers["item_reflection_self"]
    response = post_rating(referee, sam_link, answers, "review")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Some answers are missing" in body and "Choose your overall recommendation." in body
    assert 'id="item_reflection_self-error"' in body
    assert "Kept text" in body
    assert sam(app).draft["strengths"] == "Kept text"  # saved as a draft too
    assert sam(app).rating is None


def test_an_over_long_answer_is_refused_but_kept_on_the_page(app, referee, sam_link):
    response = post_rating(referee, sam_link, full_answers(growth="g" * 5001), "save")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "cannot be longer than 5000 characters" in body
    assert "g" * 5001 in body and "Warm, attuned" in body


def test_a_csrf_time_out_keeps_every_answer(app, referee, sam_link):
    referee.get(sam_link)
    response = referee.post(
        sam_link,
        data={
            "csrf_token": "expired-or-missing",
            "action": "save",
            **full_answers(strengths="Typed before the time-out"),
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Nothing you typed is lost" in body and "Typed before the time-out" in body
    # Pressing the button again (with the fresh token on the page) saves it.
    retry = referee.post(
        sam_link,
        data={
            "csrf_token": csrf_token_from(body),
            "action": "save",
            **full_answers(strengths="Typed before the time-out"),
        },
    )
    assert retry.status_code == 302
    assert sam(app).draft["strengths"] == "Typed before the time-out"


def test_six_not_enough_information_answers_do_not_count(app, referee, outbox, browser, applicant_app, sam_link):
    submit_rating(referee, sam_link, full_answers(na=6))
    reference = sam(app)
    assert reference.status is ReferenceStatus.SUBMITTED
    assert reference.rating.not_enough_information == 6 and not reference.rating.counts
    [news] = outbox(to="applicant@example.org")
    assert "cannot be counted" in news.body_text
    page = browser.get(f"/applications/{applicant_app.id}/references/").get_data(as_text=True)
    assert "This rating cannot be counted" in page and "Replace this referee" in page


def test_five_not_enough_information_answers_still_count(app, referee, sam_link):
    submit_rating(referee, sam_link, full_answers(na=5))
    assert sam(app).rating.counts


def test_declining_with_a_reason(app, referee, outbox, sam_link):
    url = f"{sam_link}/decline"
    page = referee.get(url).get_data(as_text=True)
    response = referee.post(url, data={"csrf_token": csrf_token_from(page), "reason": "On leave until spring."})
    assert "You have declined this request" in response.get_data(as_text=True)
    reference = sam(app)
    assert reference.status is ReferenceStatus.DECLINED and reference.decline_reason == "On leave until spring."
    [news] = outbox(to="applicant@example.org")
    assert "declined" in news.subject and "On leave" not in news.body_text
    assert "Request declined" in referee.get(sam_link).get_data(as_text=True)


def test_a_tampered_link_is_a_400_page(referee, sam_link):
    response = referee.get(sam_link[:-4] + ("AAAA" if not sam_link.endswith("AAAA") else "BBBB"))
    assert response.status_code == 400 and "This link is not valid" in response.get_data(as_text=True)


def test_a_link_signed_with_another_key_is_refused(app, referee, sam_link):
    reference = sam(app)
    forged = URLSafeTimedSerializer("not-the-key", salt="reference-rating").dumps(
        {"rid": reference.id, "n": reference.link_nonce, "act": "reference-rating"}
    )
    assert referee.get(f"/r/{forged}").status_code == 400


def test_a_token_for_another_purpose_is_refused(app, referee, sam_link):
    reference = sam(app)
    with app.app_context():
        token = make_token("email-verify", {"rid": reference.id, "n": reference.link_nonce})
    assert referee.get(f"/r/{token}").status_code == 400


def test_an_expired_link_offers_a_fresh_one_sent_to_the_same_address(app, referee, outbox, sam_link):
    with app.app_context():
        reference = db.session.get(Reference, sam(app).id)
        reference.link_issued_at = utcnow() - timedelta(days=31)
        db.session.commit()
        old_token = make_token(
            "reference-rating", {"rid": reference.id, "n": reference.link_nonce}, issued_at=reference.link_issued_at
        )
    page = referee.get(f"/r/{old_token}")
    body = page.get_data(as_text=True)
    assert page.status_code == 410 and "This link has expired" in body
    response = referee.post(f"/r/{old_token}/fresh-link", data={"csrf_token": csrf_token_from(body)})
    assert "A fresh link is on its way" in response.get_data(as_text=True)
    fresh = referee_path(outbox, "sam@example.net")
    assert fresh != sam_link and outbox(to="sam@example.net")[-1].subject.startswith("Your new link")
    assert referee.get(fresh).status_code == 200
    assert referee.get(f"/r/{old_token}").status_code == 410  # the old one is revoked


def test_control_characters_are_refused_with_a_message_and_the_rest_kept(app, referee, sam_link):
    response = post_rating(referee, sam_link, full_answers(strengths="Good\x00work"), "save")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Remove the control characters" in body
    assert "Could document visits sooner." in body
    assert sam(app).draft is None


def test_a_csrf_time_out_on_declining_keeps_the_reason(app, referee, sam_link):
    referee.get(f"{sam_link}/decline")
    response = referee.post(f"{sam_link}/decline", data={"csrf_token": "stale", "reason": "Kept reason"})
    body = response.get_data(as_text=True)
    assert "Nothing you typed is lost" in body and "Kept reason" in body
    assert sam(app).status is ReferenceStatus.OPENED


def test_answers_sent_after_the_link_expired_are_shown_with_the_fresh_link_offer(app, referee, sam_link):
    page = referee.get(sam_link).get_data(as_text=True)
    with app.app_context():
        reference = db.session.get(Reference, sam(app).id)
        reference.status = ReferenceStatus.EXPIRED
        db.session.commit()
    response = referee.post(
        sam_link,
        data={
            "csrf_token": csrf_token_from(page),
            "action": "save",
            **full_answers(growth="Typed as the link expired"),
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 410 and "Send me a fresh link" in body and "Typed as the link expired" in body


def test_a_draft_survives_a_server_restart_before_submitting(app, make_app, sam_link):
    referee = app.test_client()
    post_rating(referee, sam_link, full_answers(strengths="Saved before the restart"), "save")
    restarted = make_app()  # a new process on the same database
    browser = restarted.test_client()
    page = browser.get(sam_link).get_data(as_text=True)
    assert "Saved before the restart" in page
    response = submit_rating(browser, sam_link, full_answers(strengths="Saved before the restart"))
    assert "Your rating is submitted" in response.get_data(as_text=True)
    assert sam(app).rating.strengths == "Saved before the restart"
