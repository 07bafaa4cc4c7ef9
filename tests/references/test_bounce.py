"""A referee's address refused by the mail server marks the reference bounced and tells the applicant."""

from __future__ import annotations

from refportal.mail.sender import deliver_due
from refportal.references.models import ReferenceStatus
from tests.builders import ready_applicant
from tests.references.helpers import nominate_three, references, send_requests


def test_a_bounce_marks_the_reference_and_the_applicant_hears_of_it(smtp_app, smtp_server):
    smtp_server.handler.rcpt_replies["rae@example.net"] = "550 5.1.1 mailbox unavailable"
    browser, application = ready_applicant(smtp_app)
    nominate_three(browser, application.id)
    send_requests(browser, application.id)

    with smtp_app.app_context():
        report = deliver_due()
    assert (report.sent, report.failed) == (2, 1)
    statuses = {r.email: r.status for r in references(smtp_app)}
    assert statuses == {
        "sam@example.net": ReferenceStatus.INVITED,
        "rae@example.net": ReferenceStatus.BOUNCED,
        "cole@example.net": ReferenceStatus.INVITED,
    }
    # The applicant's notice is queued and goes out with the next round.
    with smtp_app.app_context():
        assert deliver_due().sent == 1
    notice = smtp_server.delivered[-1]
    assert notice.rcpt_tos == ["applicant@example.org"]
    assert "could not be delivered" in notice.message["Subject"]
    page = browser.get(f"/applications/{application.id}/references/").get_data(as_text=True)
    assert "could not be delivered" in page and "Correct the e-mail" in page
    assert {d.rcpt_tos[0] for d in smtp_server.delivered} == {
        "sam@example.net",
        "cole@example.net",
        "applicant@example.org",
    }


def test_the_applicant_reads_why_in_plain_words_and_what_to_do(smtp_app, smtp_server):
    smtp_server.handler.rcpt_replies["rae@example.net"] = "550 5.1.1 <rae@example.net>: Recipient address rejected"
    browser, application = ready_applicant(smtp_app)
    nominate_three(browser, application.id)
    send_requests(browser, application.id)
    with smtp_app.app_context():
        deliver_due()
        deliver_due()
    notice = smtp_server.delivered[-1].message.get_body(("plain",)).get_content()
    assert "the address does not exist at that mail server" in notice and "personal e-mail address" in notice
    page = browser.get(f"/applications/{application.id}/references/").get_data(as_text=True)
    assert "could not be delivered: the address does not exist at that mail server" in page
    assert "employer mail servers often block portal mail" in page


def test_a_delayed_request_is_shown_with_what_to_do(app, browser, sent):
    import sqlalchemy as sa

    from refportal.db import utcnow
    from refportal.extensions import db
    from refportal.mail.models import OutboxEmail

    with app.app_context():  # as a "delayed" delivery report leaves it
        db.session.execute(
            sa.update(OutboxEmail)
            .where(OutboxEmail.to_address == "sam@example.net")
            .values(delayed_at=utcnow(), delay_reason="4.4.1 connection timed out, will retry")
        )
        db.session.commit()
    page = browser.get(f"/applications/{sent.id}/references/").get_data(as_text=True)
    assert "The request to sam@example.net is delayed: the receiving mail server has not accepted it yet" in page
    assert "personal e-mail address" in page
