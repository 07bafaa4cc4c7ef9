"""The rating form in steps: each step saves its own answers into the draft (never another step's),
the draft's version keeps a stale tab from writing over a newer draft, the referee lands on the first
unfinished step, and the summary warns before a rating that will not count."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from refportal.applications.categories import Credential
from refportal.extensions import db
from refportal.references.forms import ANSWER_FIELDS, step_form
from refportal.references.models import Rating, Reference, ReferenceStatus
from refportal.references.rating_form import ITEM_KEYS
from refportal.references.steps import STEPS, WHOLE_FORM
from tests.factories import make_user
from tests.references.helpers import full_answers, references, submit_rating
from tests.web import csrf_token_from

ABOUT = {
    "relationship_role": "Program supervisor",
    "relationship_setting": "Home visiting",
    "relationship_years": "3",
    "referee_role": "supervisor",
    "endorsement": "none",
    "endorsed_category": "",
    "endorsement_number": "",
}
OVERALL = {
    "recommendation": "recommend",
    "strengths": "Warm and steady.",
    "growth": "Documentation.",
    "for_reviewers": "",
    "attestation_name": "Sam Supervisor",
    "attest": "y",
}


@pytest.fixture
def referee(app):
    return app.test_client()


def sam(app) -> Reference:
    return next(r for r in references(app) if r.email == "sam@example.net")


def version_on(page: str) -> str:
    return re.search(r'name="version" value="(\d+)"', page).group(1)


def post_step(client, link: str, number: int, data: dict, action: str = "next", page: str | None = None):
    """POST one step as its page does: the CSRF token and the draft version it was drawn with."""
    page = page if page is not None else client.get(f"{link}/step/{number}").get_data(as_text=True)
    payload = {"csrf_token": csrf_token_from(page), "version": version_on(page), "action": action, **data}
    return client.post(f"{link}/step/{number}", data=payload)


def items_of(number: int, value: str = "4") -> dict:
    return {f"item_{key}": value for key in STEPS[number - 1].item_keys}


def walk_every_step(client, link: str, na: int = 0, low: int = 0) -> None:
    """Answer every step in order with Next: the first `na` statements "not enough information", the
    next `low` scored 1."""
    values = ["na"] * na + ["1"] * low
    answers = {f"item_{key}": (values[i] if i < len(values) else "4") for i, key in enumerate(ITEM_KEYS)}
    assert post_step(client, link, 1, ABOUT).status_code == 302
    for step in STEPS[1:-1]:
        data = {f"item_{key}": answers[f"item_{key}"] for key in step.item_keys}
        response = post_step(client, link, step.number, data)
        assert response.headers["Location"].endswith(f"/step/{step.number + 1}")
    last = post_step(client, link, 6, OVERALL)
    assert last.headers["Location"].endswith("/summary")


def test_every_step_saves_its_answers_and_goes_on_then_the_summary_submits(app, referee, sam_link):
    walk_every_step(referee, sam_link)
    reference = sam(app)
    assert reference.status is ReferenceStatus.IN_PROGRESS and reference.draft_version == 6
    assert set(reference.draft["items"]) == set(ITEM_KEYS)
    summary = referee.get(f"{sam_link}/summary")
    body = summary.get_data(as_text=True)
    assert summary.status_code == 200 and "Check your rating" in body and "Step 7 of 7" in body
    digest = re.search(r'name="digest" type="hidden" value="([^"]+)"', body).group(1)
    done = referee.post(f"{sam_link}/submit", data={"csrf_token": csrf_token_from(body), "digest": digest})
    assert "Your rating is submitted" in done.get_data(as_text=True)
    assert sam(app).rating.counts


def test_a_step_never_wipes_the_answers_of_another(app, referee, sam_link):
    assert post_step(referee, sam_link, 2, items_of(2, "5")).status_code == 302
    assert post_step(referee, sam_link, 6, {**OVERALL, "strengths": "Typed on step six"}).status_code == 302
    assert post_step(referee, sam_link, 3, items_of(3, "3")).status_code == 302
    draft = sam(app).draft
    assert all(draft["items"][key] == "5" for key in STEPS[1].item_keys)
    assert all(draft["items"][key] == "3" for key in STEPS[2].item_keys)
    assert draft["strengths"] == "Typed on step six"
    # Clearing a text field on its own step clears it; the items stay.
    assert post_step(referee, sam_link, 6, {**OVERALL, "strengths": ""}).status_code == 302
    draft = sam(app).draft
    assert draft["strengths"] == "" and draft["items"][STEPS[1].item_keys[0]] == "5"


def test_back_and_save_draft_go_where_they_say(referee, sam_link):
    back = post_step(referee, sam_link, 3, items_of(3), action="back")
    assert back.headers["Location"].endswith("/step/2")
    stay = post_step(referee, sam_link, 3, items_of(3), action="save")
    assert stay.headers["Location"].endswith("/step/3")
    page = referee.get(stay.headers["Location"]).get_data(as_text=True)
    assert "Your draft is saved" in page and "Step 3 of 7" in page


def test_coming_back_lands_on_the_first_unfinished_step(app, referee, sam_link):
    assert "Step 1 of 7" in referee.get(sam_link).get_data(as_text=True)
    post_step(referee, sam_link, 1, ABOUT)
    post_step(referee, sam_link, 2, items_of(2))
    post_step(referee, sam_link, 4, items_of(4))
    fresh = app.test_client()
    assert "Step 3 of 7" in fresh.get(sam_link).get_data(as_text=True)
    post_step(fresh, sam_link, 3, items_of(3))
    post_step(fresh, sam_link, 5, items_of(5))
    post_step(fresh, sam_link, 6, OVERALL)
    assert "Check your rating before you submit" in app.test_client().get(sam_link).get_data(as_text=True)


def test_the_summary_sends_an_unfinished_rating_to_the_step_that_lacks_answers(app, referee, sam_link):
    walk_every_step(referee, sam_link)
    post_step(referee, sam_link, 4, {})  # nothing new: the saved answers stay
    with app.app_context():
        reference = db.session.get(Reference, sam(app).id)
        draft = dict(reference.draft)
        draft["items"] = {k: v for k, v in draft["items"].items() if k != "thinking_planning"}
        reference.draft = draft
        db.session.commit()
    summary = referee.get(f"{sam_link}/summary")
    assert summary.status_code == 302 and summary.headers["Location"].endswith("/step/4?missing=1")
    page = referee.get(summary.headers["Location"]).get_data(as_text=True)
    assert "Some answers are missing" in page and 'id="item_thinking_planning-error"' in page


def test_a_step_that_does_not_exist_is_a_message_not_an_error(app, referee, sam_link):
    page = referee.get(f"{sam_link}/step/1").get_data(as_text=True)
    response = referee.post(f"{sam_link}/step/9", data={"csrf_token": csrf_token_from(page), "action": "next"})
    assert response.status_code == 302
    landing = referee.get(response.headers["Location"]).get_data(as_text=True)
    assert "That step does not exist" in landing
    assert referee.get(f"{sam_link}/step/0").status_code == 302
    assert sam(app).draft is None


def test_a_stale_tab_does_not_save_over_a_newer_draft_and_keeps_what_it_typed(app, sam_link):
    first, second = app.test_client(), app.test_client()
    stale_page = second.get(f"{sam_link}/step/6").get_data(as_text=True)
    assert post_step(first, sam_link, 6, {**OVERALL, "strengths": "Newer, from the first tab"}).status_code == 302
    response = post_step(second, sam_link, 6, {**OVERALL, "strengths": "Older tab's words"}, page=stale_page)
    body = response.get_data(as_text=True)
    assert response.status_code == 409 and "saved from another tab or window" in body
    assert "Older tab&#39;s words" in body  # what the stale tab typed is shown back
    assert sam(app).draft["strengths"] == "Newer, from the first tab"
    # Pressing again (the page now carries the newer version) keeps the stale tab's words.
    assert post_step(second, sam_link, 6, {**OVERALL, "strengths": "Older tab's words"}, page=body).status_code == 302
    assert sam(app).draft["strengths"] == "Older tab's words"


def test_autosave_answers_in_json_with_the_new_version_and_refuses_a_stale_one(app, referee, sam_link):
    page = referee.get(f"{sam_link}/step/2").get_data(as_text=True)
    data = {"csrf_token": csrf_token_from(page), "version": version_on(page), "autosave": "1", **items_of(2, "2")}
    saved = referee.post(f"{sam_link}/step/2", data=data)
    assert saved.status_code == 200 and saved.get_json() == {"version": 1}
    stale = referee.post(f"{sam_link}/step/2", data={**data, "item_theory_development": "5"})
    assert stale.status_code == 409 and "another tab" in stale.get_json()["message"]
    assert sam(app).draft["items"]["theory_development"] == "2"
    again = referee.post(f"{sam_link}/step/2", data={**data, "version": "1", "item_theory_development": "5"})
    assert again.get_json() == {"version": 2} and sam(app).draft["items"]["theory_development"] == "5"


def test_a_step_posted_after_the_link_was_revoked_shows_the_typed_answers(app, browser, sam_link):
    reference = sam(app)
    referee = app.test_client()
    page = referee.get(f"{sam_link}/step/6").get_data(as_text=True)
    browser.submit(
        f"/applications/{reference.application_id}/references/{reference.id}/email", {"email": "sam.home@example.com"}
    )
    response = post_step(referee, sam_link, 6, {**OVERALL, "strengths": "Typed as it was replaced"}, page=page)
    body = response.get_data(as_text=True)
    assert response.status_code == 410 and "This link no longer works" in body
    assert "Typed as it was replaced" in body


def test_six_not_enough_information_answers_are_warned_with_links_and_can_still_be_submitted(app, referee, sam_link):
    walk_every_step(referee, sam_link, na=6)
    body = referee.get(f"{sam_link}/summary").get_data(as_text=True)
    assert "“Not enough information to rate” answers: 6" in body
    assert "this rating will not count toward the applicant's three references" in body
    assert f'{sam_link}/step/2#item_{ITEM_KEYS[0]}"' in body and f'{sam_link}/step/3#item_{ITEM_KEYS[5]}"' in body
    digest = re.search(r'name="digest" type="hidden" value="([^"]+)"', body).group(1)
    referee.post(f"{sam_link}/submit", data={"csrf_token": csrf_token_from(body), "digest": digest})
    assert sam(app).rating is not None and not sam(app).rating.counts


def test_five_not_enough_information_answers_are_counted_without_the_warning(referee, sam_link):
    walk_every_step(referee, sam_link, na=5)
    body = referee.get(f"{sam_link}/summary").get_data(as_text=True)
    assert "“Not enough information to rate” answers: 5" in body and "will not count" not in body


def test_low_scores_beside_a_recommendation_are_warned(referee, sam_link):
    walk_every_step(referee, sam_link, low=2)
    body = referee.get(f"{sam_link}/summary").get_data(as_text=True)
    assert "Low scores beside a recommendation" in body and body.count("1 – Not observed in practice") >= 2


def test_no_low_score_warning_when_not_recommending(referee, sam_link):
    walk_every_step(referee, sam_link, low=2)
    post_step(referee, sam_link, 6, {**OVERALL, "recommendation": "do_not_recommend"})
    assert "Low scores beside" not in referee.get(f"{sam_link}/summary").get_data(as_text=True)


def test_a_referee_who_rated_before_finds_their_details_filled_in(app, outbox, sam_link):
    submit_rating(
        app.test_client(),
        sam_link,
        full_answers(attestation_name="Samantha Supervisor", endorsement="imh-e", endorsed_category="3"),
    )
    with app.app_context():
        assert db.session.query(Rating).count() == 1
    # A second applicant names the same referee (same address).
    from tests.factories import declare_current_membership, make_application, record_eligibility
    from tests.references.helpers import nominate_three, referee_path, send_requests
    from tests.web import Browser

    with app.app_context():
        other = make_user(email="second@example.org", name="Blake Second")
        application = make_application(other, category=2)
        record_eligibility(application)
        declare_current_membership(application)
        application_id = application.id
    browser = Browser(app.test_client())
    browser.login("second@example.org")
    nominate_three(browser, application_id)
    send_requests(browser, application_id)
    link = referee_path(outbox, "sam@example.net")
    about = app.test_client().get(link).get_data(as_text=True)
    assert 'value="Program supervisor"' in about
    assert re.search(r'<input checked id="endorsement-1" name="endorsement" type="radio" value="imh-e">', about)
    assert '<option selected value="3">3</option>' in about
    overall = app.test_client().get(f"{link}/step/6").get_data(as_text=True)
    assert 'value="Samantha Supervisor"' in overall


def statements_of(app, client, path: str) -> list[str]:
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        assert client.get(path).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    return seen


def test_only_the_steps_showing_filled_in_details_read_the_referees_earlier_rating(app, referee, sam_link):
    for step in STEPS:
        seen = statements_of(app, referee, f"{sam_link}/step/{step.number}")
        reads_rating = any("FROM rating" in statement for statement in seen)
        assert reads_rating == (step.key in ("about", "overall")), (step.key, seen)
        assert len(seen) == (2 if reads_rating else 1), seen


def test_the_printable_blank_form_from_the_link_changes_nothing(app, referee, sam_link):
    response = referee.get(f"{sam_link}/printable")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Avery Applicant" in body
    assert body.count("☐") >= len(ITEM_KEYS) * 6
    assert sam(app).draft is None and sam(app).status is ReferenceStatus.INVITED


def test_staff_print_a_blank_form_per_credential_and_others_cannot(app, browser, sam_link):
    with app.app_context():
        from refportal.accounts.models import Role

        make_user(email="staff@example.org", role=Role.REVIEWER)
    assert browser.client.get("/blank-forms/").status_code == 404  # the applicant
    staff = app.test_client()
    from tests.web import Browser

    Browser(staff).login("staff@example.org")
    index = staff.get("/blank-forms/").get_data(as_text=True)
    assert "/blank-forms/imh-e" in index and "/blank-forms/ecmh-e" in index
    imh = staff.get("/blank-forms/imh-e").get_data(as_text=True)
    ecmh = staff.get("/blank-forms/ecmh-e").get_data(as_text=True)
    assert "infants and toddlers" in imh and "young children (3 up to 6)" in ecmh
    assert staff.get("/blank-forms/other").status_code == 404


def test_the_request_email_carries_start_and_decline_links_the_time_and_the_deadline(outbox, sam_link):
    [request] = [m for m in outbox(to="sam@example.net") if "/r/" in m.body_text]
    assert "Start the rating" in request.body_html and "I can't give a reference" in request.body_html
    assert f"{sam_link}/decline" in request.body_text and "about 15 minutes" in request.body_text
    assert "Please answer by" in request.body_text


def test_each_steps_form_holds_its_own_answers_and_the_whole_form_every_one():
    """A step's form class draws and saves exactly the answers the step owns (steps.STEPS); the whole
    form's, every answer of every step and every competency item."""
    assert set(ANSWER_FIELDS) == set(WHOLE_FORM.fields)
    for credential in Credential:
        whole = step_form(credential, WHOLE_FORM)
        assert set(whole._item_fields) == {f"item_{key}" for key in ITEM_KEYS}
        for shown in STEPS:
            form = step_form(credential, shown)
            held = {name for name in ANSWER_FIELDS if getattr(form, name, None) is not None}
            assert held == set(shown.fields), shown.key
            assert set(form._item_fields) == {f"item_{key}" for key in shown.item_keys}, shown.key
