"""Reusing a rating within its year: the applicant's new application asks the referee, who confirms
with one button or declines; the reused rating keeps its original date on the file."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from refportal.accounts.models import Role, User
from refportal.applications.services import withdraw_application
from refportal.audit.models import AuditEvent
from refportal.db import utcnow
from refportal.extensions import db
from refportal.mail.models import OutboxEmail
from refportal.payments.charges import find_account
from refportal.references.lifecycle import ReferenceStatus
from refportal.references.models import Rating, Reference
from tests.builders import make_submitted_application, settle_fees
from tests.factories import declare_current_membership, make_application, make_user, record_eligibility
from tests.web import Browser, csrf_token_from, link_in

HANA = "hana@example.net"


@pytest.fixture
def earlier(app):
    """Applicant A's first application, rated by three referees and then withdrawn; a second one open
    (references page in A's browser); applicant B and a reviewer."""
    with app.app_context():
        a = make_user(email="a@example.org", name="Applicant A")
        make_user(email="b@example.org", name="Applicant B")
        make_user(email="rev@example.org", name="Rita Reviewer", role=Role.REVIEWER)
        first = make_submitted_application(a)
        withdraw_application(application=first, actor=a)
        second = make_application(a, category=2)
        record_eligibility(second)
        declare_current_membership(second)
        settle_fees(second)
        ids = {
            "first": first.id,
            "second": second.id,
            "sources": {r.email: r.id for r in first.references},
        }
    applicant = Browser(app.test_client())
    applicant.login("a@example.org")
    return ids, applicant


def references_url(ids) -> str:
    return f"/applications/{ids['second']}/references/"


def ask_reuse(applicant, ids, email=HANA):
    return applicant.submit(
        f"/applications/{ids['second']}/references/reuse/{ids['sources'][email]}", {}, form_url=references_url(ids)
    )


def reuse_request(app, ids) -> Reference | None:
    with app.app_context():
        found = db.session.scalars(
            sa.select(Reference).where(Reference.application_id == ids["second"], Reference.email == HANA)
        ).first()
        if found is not None:
            db.session.expunge(found)
        return found


def age_original(app, ids, days: int) -> None:
    with app.app_context():
        rating = db.session.scalars(sa.select(Rating).where(Rating.reference_id == ids["sources"][HANA])).one()
        rating.submitted_at = utcnow() - timedelta(days=days)
        db.session.commit()


def request_link(outbox) -> str:
    (email,) = [m for m in outbox(HANA) if m.template == "reference_reuse_request"]
    return email, link_in(email.body_text, "/r/")


def test_the_applicant_asks_and_the_referee_confirms_with_one_button(app, earlier, outbox):
    ids, applicant = earlier
    age_original(app, ids, 100)
    page = applicant.get(references_url(ids)).get_data(as_text=True)
    assert "Reuse a rating from an earlier application" in page
    assert page.count("to reuse it</button>") == 3
    response = ask_reuse(applicant, ids)
    assert response.status_code == 302
    asked = reuse_request(app, ids)
    assert asked.status is ReferenceStatus.INVITED and asked.reuses_id == ids["sources"][HANA]

    email, link = request_link(outbox)
    with app.app_context():
        original = db.session.scalars(sa.select(Rating).where(Rating.reference_id == ids["sources"][HANA])).one()
        original_date, original_answers, original_id = original.submitted_at, original.answers, original.id
    assert f"{original_date:%B} {original_date.day}, {original_date.year}" in email.body_text
    referee = Browser(app.test_client())
    form_page = referee.get(link).get_data(as_text=True)
    assert "Yes, use my rating again" in form_page
    assert 'name="strengths"' not in form_page  # no rating form: one button

    assert referee.client.post(link + "/reuse").status_code == 400  # no CSRF token: nothing changes
    assert reuse_request(app, ids).status is ReferenceStatus.OPENED

    done = referee.client.post(link + "/reuse", data={"csrf_token": csrf_token_from(form_page)})
    assert done.status_code == 200
    assert "now stands for" in done.get_data(as_text=True)
    with app.app_context():
        reference = db.session.get(Reference, asked.id)
        assert reference.status is ReferenceStatus.SUBMITTED
        copy = reference.rating
        assert copy.reused_from_id == original_id
        assert copy.submitted_at == original_date  # the original date stays
        assert copy.answers == original_answers and copy.counts
        assert db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_id == reference.id)).all()[
            -1
        ] == ("reference.reuse_confirmed")
    templates = [m.template for m in outbox() if m.id > email.id]
    assert "reference_receipt" in templates and "reference_submitted" in templates

    again = referee.client.post(link + "/reuse", data={"csrf_token": csrf_token_from(form_page)})
    assert again.status_code == 200 and "has been submitted" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Rating.reused_from_id == original_id)) == 1

    reviewer = Browser(app.test_client())
    reviewer.login("rev@example.org")
    file_page = reviewer.get(f"/review/applications/{ids['second']}").get_data(as_text=True)
    assert re.search(r"<strong>reused</strong>: given \d{2} \w+ \d{4} for application " + str(ids["first"]), file_page)
    assert original_date.strftime("%d %B %Y") in file_page
    assert "rating is from" not in file_page  # 100 days old: within its year
    app.config["RATING_VALID_DAYS"] = 90  # at decision time the reused rating is judged by its original date
    file_page = reviewer.get(f"/review/applications/{ids['second']}").get_data(as_text=True)
    assert f"rating is from {original_date:%d %B %Y}" in file_page


def test_the_rating_form_is_not_offered_for_a_reuse_request(app, earlier, outbox):
    ids, applicant = earlier
    ask_reuse(applicant, ids)
    _, link = request_link(outbox)
    referee = Browser(app.test_client())
    token = csrf_token_from(referee.get(link).get_data(as_text=True))
    response = referee.client.post(link, data={"csrf_token": token, "action": "save", "strengths": "x"})
    assert response.status_code == 302 and response.headers["Location"].endswith(link)
    assert reuse_request(app, ids).draft is None


def test_the_referee_declines_and_the_applicant_nominates_someone_else(app, earlier, outbox):
    ids, applicant = earlier
    ask_reuse(applicant, ids)
    _, link = request_link(outbox)
    referee = Browser(app.test_client())
    assert "No, decline this request" in referee.get(link).get_data(as_text=True)
    referee.submit(link + "/decline", {"reason": "I would rather write a new one."}, form_url=link + "/decline")
    declined = reuse_request(app, ids)
    assert declined.status is ReferenceStatus.DECLINED
    page = applicant.get(references_url(ids)).get_data(as_text=True)
    assert "Replace this referee" in page
    notices = [m.template for m in outbox("a@example.org")]
    assert "reference_declined" in notices


def test_a_second_request_for_the_same_rating_is_refused(app, earlier):
    ids, applicant = earlier
    ask_reuse(applicant, ids)
    response = ask_reuse(applicant, ids)
    assert response.status_code == 302
    page = applicant.get(references_url(ids)).get_data(as_text=True)
    assert "reuse this rating already" in page
    with app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count()).where(Reference.application_id == ids["second"], Reference.email == HANA)
        )
    assert count == 1


def test_a_rating_over_its_year_is_not_offered_and_cannot_be_reused(app, earlier):
    ids, applicant = earlier
    age_original(app, ids, 366)
    page = applicant.get(references_url(ids)).get_data(as_text=True)
    assert page.count("to reuse it</button>") == 2  # Hana's is gone
    ask_reuse(applicant, ids)
    assert "can no longer be reused" in applicant.get(references_url(ids)).get_data(as_text=True)
    assert reuse_request(app, ids) is None


def test_the_year_running_out_before_the_referee_confirms_is_explained(app, earlier, outbox):
    ids, applicant = earlier
    age_original(app, ids, 300)
    ask_reuse(applicant, ids)
    _, link = request_link(outbox)
    referee = Browser(app.test_client())
    token = csrf_token_from(referee.get(link).get_data(as_text=True))
    age_original(app, ids, 400)
    response = referee.client.post(link + "/reuse", data={"csrf_token": token})
    assert response.status_code == 409
    assert "more than a year old" in response.get_data(as_text=True)
    assert reuse_request(app, ids).status is ReferenceStatus.OPENED
    assert "Yes, use my rating again" not in referee.get(link).get_data(as_text=True)


def test_another_applicants_rating_cannot_be_reused(app, earlier):
    ids, _ = earlier
    with app.app_context():
        b = db.session.scalars(sa.select(User).where(User.email == "b@example.org")).one()
        other = make_application(b, category=2)
        db.session.commit()
        url = f"/applications/{other.id}/references/reuse/{ids['sources'][HANA]}"
    intruder = Browser(app.test_client())
    intruder.login("b@example.org")
    response = intruder.submit(url, {}, form_url="/dashboard")
    assert response.status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Reference.email == HANA)) == 1
        reuse_mail = sa.select(OutboxEmail).where(OutboxEmail.template == "reference_reuse_request")
        assert not db.session.scalars(reuse_mail).all()


def test_correcting_the_address_of_a_reuse_request_makes_it_an_ordinary_request(app, earlier, outbox):
    """Otherwise an applicant could point the request at a mailbox of their own and confirm it themselves."""
    ids, applicant = earlier
    ask_reuse(applicant, ids)
    asked = reuse_request(app, ids)
    url = f"/applications/{ids['second']}/references/{asked.id}/email"
    assert applicant.submit(url, {"email": "mine@example.org"}).status_code == 302
    with app.app_context():
        corrected = db.session.scalars(sa.select(Reference).where(Reference.email == "mine@example.org")).one()
        assert corrected.reuses_id is None
    [request] = [m for m in outbox("mine@example.org")]
    assert request.template == "reference_request"


def test_a_reuse_request_waits_for_the_application_fee(app, earlier, outbox):
    ids, applicant = earlier
    with app.app_context():  # the second application's fees not paid after all
        account = find_account(application_id=ids["second"])
        for waiver in account.waivers:
            db.session.delete(waiver)
        db.session.commit()
    response = ask_reuse(applicant, ids)
    shown = response.get_data(as_text=True) + applicant.get(references_url(ids)).get_data(as_text=True)
    assert "The application fee is due before the requests are sent: $25.00 is still to pay" in shown
    assert reuse_request(app, ids) is None
    assert not [m for m in outbox(HANA) if m.template == "reference_reuse_request"]
