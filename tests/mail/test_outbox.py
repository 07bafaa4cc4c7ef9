"""queue_email() writes into the caller's transaction; the viewer shows messages with their links."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from refportal.extensions import db
from refportal.mail.models import OutboxEmail, OutboxStatus
from refportal.mail.services import HeaderInjection, queue_email
from tests.web import link_in


def count(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(OutboxEmail.id)))


def queue_verify(to="a@example.org", name="Ana"):
    return queue_email("verify_email", to, name=name, link="https://portal.example.test/verify-email/x", valid_hours=72)


def test_a_rolled_back_change_sends_no_email(app):
    with app.app_context():
        queue_verify()
        db.session.rollback()
    assert count(app) == 0


def test_a_committed_change_keeps_its_email(app):
    with app.app_context():
        email = queue_verify()
        db.session.commit()
        assert email.status is OutboxStatus.QUEUED
        assert "Hello Ana" in email.body_text and "Hello Ana" in email.body_html
    assert count(app) == 1


def test_html_part_escapes_what_people_typed(app):
    with app.app_context():
        email = queue_verify(name="<script>alert(1)</script>")
        assert "<script>" not in email.body_html and "&lt;script&gt;" in email.body_html


@pytest.mark.parametrize("to", ["a@example.org\r\nBcc: b@example.org", "a@example.org\nX: y"])
def test_line_breaks_in_a_recipient_are_refused(app, to):
    with app.app_context(), pytest.raises(HeaderInjection):
        queue_verify(to=to)


def test_the_viewer_lists_messages_and_makes_links_clickable(app, client):
    with app.app_context():
        email = queue_verify()
        db.session.commit()
        email_id = email.id
    inbox = client.get("/dev/mail/")
    assert inbox.status_code == 200 and "Confirm your e-mail address" in inbox.get_data(as_text=True)
    page = client.get(f"/dev/mail/{email_id}")
    assert '<a href="https://portal.example.test/verify-email/x">' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    html = client.get(f"/dev/mail/{email_id}/html")
    assert html.status_code == 200 and "Confirm my e-mail address" in html.get_data(as_text=True)
    assert "script-src" not in html.headers["Content-Security-Policy"]  # default-src 'none' covers scripts
    assert client.get("/dev/mail/999").status_code == 404


def test_the_viewer_escapes_markup_in_text_bodies(app, client):
    with app.app_context():
        email = queue_verify(name="<b>bold</b>")
        db.session.commit()
        email_id = email.id
    body = client.get(f"/dev/mail/{email_id}").get_data(as_text=True)
    assert "<b>bold</b>" not in body and "&lt;b&gt;bold&lt;/b&gt;" in body


def test_register_and_verify_through_the_mail_viewer(app, browser):
    """A person registers, opens the mail viewer, clicks the link there, and can log in."""
    browser.submit(
        "/register",
        {
            "name": "Viewer User",
            "email": "viewer@example.org",
            "password": "viewer pass phrase",
            "confirm": "viewer pass phrase",
        },
    )
    inbox = browser.get("/dev/mail/").get_data(as_text=True)
    message_url = re.search(r'href="(/dev/mail/\d+)"', inbox).group(1)
    link = link_in(browser.get(message_url).get_data(as_text=True), "/verify-email/")
    assert browser.submit(link, {}).status_code == 302  # the page's button confirms
    browser.login("viewer@example.org", "viewer pass phrase")
