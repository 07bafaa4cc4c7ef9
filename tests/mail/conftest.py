"""Fixtures for the mail tests."""

from __future__ import annotations

import pytest

from refportal.accounts.models import Role
from refportal.mail.sender import deliver_due
from tests.builders import ready_applicant
from tests.factories import make_user
from tests.mail.bounce_helpers import BOUNCE_BASE, PORTAL_FROM, SECRET, post_report, report_about
from tests.mail.helpers import COLE, RAE, SAM
from tests.references.helpers import nominate_three, send_requests
from tests.web import Browser


def _world(make_app, smtp_server, imap_server, *, verp: bool):
    app = make_app(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_server.port,
        MAIL_TIMEOUT_SECONDS=5,
        MAIL_DEFAULT_SENDER=PORTAL_FROM,
        BOUNCE_ADDRESS=BOUNCE_BASE if verp else None,
        BOUNCE_WEBHOOK_SECRET=SECRET,
        BOUNCE_IMAP_URL=imap_server.url,
    )
    browser, application = ready_applicant(app)
    nominate_three(browser, application.id)
    send_requests(browser, application.id)
    with app.app_context():
        assert deliver_due().sent == 3
    return app, smtp_server, imap_server


@pytest.fixture
def sent_world(make_app, smtp_server, imap_server):
    """Three referee requests sent through the real SMTP server with VERP on; the IMAP mailbox ready."""
    return _world(make_app, smtp_server, imap_server, verp=True)


@pytest.fixture
def plain_world(make_app, smtp_server, imap_server):
    """The same three requests sent without BOUNCE_ADDRESS (the envelope sender is the portal's own
    address), then BOUNCE_ADDRESS set, as when a portal turns VERP on: reports about these messages can
    name them only by their signed Message-ID and recipient."""
    app, smtp_server, imap_server = _world(make_app, smtp_server, imap_server, verp=False)
    app.config["BOUNCE_ADDRESS"] = BOUNCE_BASE
    return app, smtp_server, imap_server


@pytest.fixture
def console_world(make_app, smtp_server):
    """Three requests through the real SMTP server: Cole's server says "try later" (retrying), a
    delivery report bounces Rae's (bounced) and delays Sam's (delayed); staff signed in."""
    smtp_server.handler.rcpt_replies[COLE] = "451 4.3.0 Mailbox busy, try again later"
    app = make_app(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_server.port,
        MAIL_TIMEOUT_SECONDS=5,
        MAIL_DEFAULT_SENDER=PORTAL_FROM,
        BOUNCE_ADDRESS=BOUNCE_BASE,
        BOUNCE_WEBHOOK_SECRET=SECRET,
    )
    applicant, application = ready_applicant(app)
    nominate_three(applicant, application.id)
    send_requests(applicant, application.id)
    with app.app_context():
        report = deliver_due()
        assert (report.sent, report.retried) == (2, 1), report
        make_user(email="rev@example.org", role=Role.REVIEWER)
        make_user(email="admin@example.org", role=Role.ADMIN)
    assert post_report(app, report_about(app, "postfix_permanent", recipient=RAE)).status_code == 202
    assert post_report(app, report_about(app, "exim_delayed", recipient=SAM)).status_code == 202
    reviewer, admin = Browser(app.test_client()), Browser(app.test_client())
    reviewer.login("rev@example.org")
    admin.login("admin@example.org")
    return app, smtp_server, applicant, application, reviewer, admin
