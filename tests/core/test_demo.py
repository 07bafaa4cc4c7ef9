"""The README's demo, as it says: the mail viewer holds every referee's link, Ivan's link opens his saved
draft, and Fay's file goes from the queue to a decision with the two demo reviewers."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from refportal.accounts.models import User
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application
from refportal.extensions import db
from refportal.mail.models import OutboxEmail
from tests.web import Browser

DEMO_PASSWORD = "demo-password-2026"


@pytest.fixture
def demo(make_app):
    app = make_app(ENV_NAME="development")
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return app


def signed_in(app, email: str) -> Browser:
    browser = Browser(app.test_client())
    browser.login(email, DEMO_PASSWORD)
    return browser


def viewer_link(browser: Browser, address: str, path_prefix: str) -> str:
    """The first link to `path_prefix` in the message to `address`, read through the mail viewer."""
    inbox = browser.get("/dev/mail/").get_data(as_text=True)
    assert address in inbox
    for email_id in re.findall(r'href="/dev/mail/(\d+)"', inbox):
        page = browser.get(f"/dev/mail/{email_id}").get_data(as_text=True)
        if address in page:
            match = re.search(r"https?://[^/\s\"]+(" + re.escape(path_prefix) + r"[^\s\"<&]*)", page)
            if match:
                return match.group(1)
    raise AssertionError(f"no {path_prefix} link to {address} in the mail viewer")


def test_ivans_link_in_the_mail_viewer_opens_his_saved_draft(demo):
    browser = Browser(demo.test_client())
    link = viewer_link(browser, "ivan.ruiz@example.net", "/r/")
    form = browser.get(link)  # his first unfinished step
    assert form.status_code == 200 and " of 7" in form.get_data(as_text=True)
    overall = browser.get(f"{link}/step/6")  # the narrative he had begun is in place
    assert "Seeks out supervision." in overall.get_data(as_text=True)


def test_fays_file_is_decided_by_the_two_demo_reviewers(demo):
    with demo.app_context():
        fay = db.session.scalar(sa.select(User).where(User.email == "fay@example.org"))
        application_id = db.session.scalar(sa.select(Application.id).where(Application.applicant_id == fay.id))
    file_url = f"/review/applications/{application_id}"
    rita = signed_in(demo, "reviewer@example.org")
    assert file_url in rita.get("/review/").get_data(as_text=True)
    page = rita.get(file_url).get_data(as_text=True)
    assert "<svg" in page and "beside a positive recommendation" in page  # the chart, and a flag in words
    verified = rita.submit(f"{file_url}/membership", {"verdict": "verify", "note": ""}, form_url=file_url)
    assert verified.status_code == 302, verified.get_data(as_text=True)
    for email in ("reviewer@example.org", "reviewer2@example.org"):
        reviewer = signed_in(demo, email)
        answer = reviewer.submit(
            f"{file_url}/review", {"outcome": "endorse", "notes": "", "message": ""}, form_url=file_url
        )
        assert answer.status_code == 302, answer.get_data(as_text=True)
    with demo.app_context():
        assert db.session.get(Application, application_id).status is ApplicationStatus.ENDORSED
        to_fay = set(db.session.scalars(sa.select(OutboxEmail.template).where(OutboxEmail.to_address == fay.email)))
        assert "application_decision" in to_fay


def test_devs_past_endorsement_joined_no_round_of_this_quarter(demo):
    with demo.app_context():
        dev = db.session.scalar(sa.select(User).where(User.email == "dev@example.org"))
        application = db.session.scalar(sa.select(Application).where(Application.applicant_id == dev.id))
        assert application.status is ApplicationStatus.ENDORSED
        assert application.review_round is None
