"""No request outlives its application, and a referee hears when their part ends: a receipt after
submitting, a notice when the request is withdrawn (replaced, address corrected, application ended)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from refportal.audit.models import AuditEvent
from refportal.db import utcnow
from refportal.extensions import db
from refportal.references.models import ReferenceStatus
from refportal.references.reminders import run_reminders
from refportal.reviews.decisions import apply_decision
from refportal.reviews.models import Decision
from tests.references.helpers import (
    full_answers,
    nominate,
    nominate_three,
    post_rating,
    referee_path,
    references,
    send_requests,
    submit_rating,
)
from tests.web import csrf_token_from


def withdraw(browser, application_id):
    url = f"/applications/{application_id}"
    return browser.submit(f"{url}/withdraw", {}, form_url=url)


def closing_mail(outbox, address, template="reference_cancelled"):
    return [m for m in outbox(to=address) if m.template == template]


def test_withdrawing_the_application_ends_every_request(app, browser, outbox, sent):
    sam, rae, cole = (referee_path(outbox, f"{name}@example.net") for name in ("sam", "rae", "cole"))
    referee = app.test_client()
    assert post_rating(referee, rae, full_answers(strengths="Kept as a draft"), "save").status_code == 302
    token = csrf_token_from(referee.get(rae).get_data(as_text=True))  # the form stays open in the browser
    submit_rating(app.test_client(), cole, full_answers())

    assert withdraw(browser, sent.id).status_code == 302
    statuses = {r.email: r.status for r in references(app)}
    assert statuses == {
        "sam@example.net": ReferenceStatus.CANCELLED,
        "rae@example.net": ReferenceStatus.CANCELLED,
        "cole@example.net": ReferenceStatus.SUBMITTED,
    }  # an answer given stands

    page = app.test_client().get(sam)
    assert page.status_code == 410 and "This request was withdrawn" in page.get_data(as_text=True)
    saving = referee.post(rae, data={"csrf_token": token, "action": "save", **full_answers(strengths="Too late")})
    assert saving.status_code == 410 and "This request was withdrawn" in saving.get_data(as_text=True)
    draft = next(r for r in references(app) if r.email == "rae@example.net").draft
    assert draft["strengths"] == "Kept as a draft"  # kept for the record, not editable

    # Told once each, none told twice, and no reminder is ever due.
    assert [len(closing_mail(outbox, f"{n}@example.net")) for n in ("sam", "rae", "cole")] == [1, 1, 0]
    notice = closing_mail(outbox, "sam@example.net")[0]
    assert "has ended" in notice.body_text and "/r/" not in notice.body_text
    with app.app_context():
        assert run_reminders(now=utcnow() + timedelta(days=40)) == (0, 0)
        db.session.commit()
    assert [len(closing_mail(outbox, f"{n}@example.net")) for n in ("sam", "rae", "cole")] == [1, 1, 0]
    assert len([m for m in outbox() if m.template == "reference_expired"]) == 0


def test_nominated_referees_who_were_never_asked_get_no_notice(app, browser, outbox, applicant_app):
    nominate_three(browser, applicant_app.id)
    withdraw(browser, applicant_app.id)
    assert {r.status for r in references(app)} == {ReferenceStatus.CANCELLED}
    assert outbox() == []


def test_a_final_decision_cancels_what_is_still_open(app, sent, outbox):
    from refportal.applications.lifecycle import ApplicationStatus
    from refportal.applications.models import Application

    with app.test_request_context():
        application = db.session.get(Application, sent.id)
        application.status = ApplicationStatus.SUBMITTED  # as if submitted, one request still open
        apply_decision(application=application, outcome=Decision.DENY, message="", actor=None)
        db.session.commit()
    assert {r.status for r in references(app)} == {ReferenceStatus.CANCELLED}
    assert len(closing_mail(outbox, "sam@example.net")) == 1


def test_more_information_keeps_the_requests_and_ratings(app, sent, outbox):
    from refportal.applications.lifecycle import ApplicationStatus
    from refportal.applications.models import Application

    submit_rating(app.test_client(), referee_path(outbox, "sam@example.net"), full_answers())
    with app.test_request_context():
        application = db.session.get(Application, sent.id)
        application.status = ApplicationStatus.SUBMITTED
        apply_decision(application=application, outcome=Decision.MORE_INFORMATION, message="Add hours.", actor=None)
        db.session.commit()
    statuses = {r.email: r.status for r in references(app)}
    assert statuses["sam@example.net"] is ReferenceStatus.SUBMITTED
    assert statuses["rae@example.net"] is ReferenceStatus.INVITED
    assert closing_mail(outbox, "rae@example.net") == []


def test_the_replaced_referee_and_the_old_address_are_told(app, browser, outbox, sent):
    rae = next(r for r in references(app) if r.email == "rae@example.net")
    url = f"/applications/{sent.id}/references/{rae.id}"
    browser.submit(
        f"{url}/replace",
        {
            "name": "Ria New",
            "email": "ria@example.net",
            "organisation": "Org",
            "role": "rsc_provider",
            "setting": "RSC group",
            "known_years": "2",
            "endorsed_credential": "",
            "endorsed_category": "",
            "waived": "yes",
            "language": "en",
        },
    )
    assert "withdrawn the reference request" in closing_mail(outbox, "rae@example.net")[0].body_text

    sam = next(r for r in references(app) if r.email == "sam@example.net")
    browser.submit(f"/applications/{sent.id}/references/{sam.id}/email", {"email": "sam.home@example.net"})
    assert len(closing_mail(outbox, "sam@example.net")) == 1
    assert closing_mail(outbox, "sam.home@example.net") == []  # the new address gets the request instead
    assert outbox(to="sam.home@example.net")[-1].template == "reference_request"


def test_a_referee_gets_a_receipt_in_their_language_without_the_rating(app, browser, outbox, applicant_app):
    nominate(browser, applicant_app.id, language="es")
    nominate(browser, applicant_app.id, name="Rae Provider", email="rae@example.net", role="rsc_provider")
    nominate(browser, applicant_app.id, name="Cole League", email="cole@example.net", role="colleague")
    send_requests(browser, applicant_app.id)
    referee, path = app.test_client(), referee_path(outbox, "sam@example.net")
    referee.get(f"{path}?lang=en")  # the pages in English; the e-mails stay in the referee's language
    submit_rating(referee, path, full_answers(strengths="Private strengths text"))
    receipts = closing_mail(outbox, "sam@example.net", "reference_receipt")
    assert len(receipts) == 1
    assert receipts[0].subject == "Gracias: su referencia para Avery Applicant se ha recibido"
    assert "Avery Applicant" in receipts[0].body_text and "Private strengths text" not in receipts[0].body_text
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "reference.submitted" in actions
