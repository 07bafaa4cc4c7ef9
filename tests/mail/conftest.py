"""Fixtures for the mail tests."""

from __future__ import annotations

import pytest

from refportal.mail.sender import deliver_due
from tests.builders import ready_applicant
from tests.mail.bounce_helpers import BOUNCE_BASE, PORTAL_FROM, SECRET
from tests.references.helpers import nominate_three, send_requests


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
