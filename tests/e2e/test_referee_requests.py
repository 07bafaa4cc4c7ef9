"""A referee asked by two applicants opens "My reference requests" in Chromium and completes both
from that one page; a request to reuse an earlier rating is confirmed with one button."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from refportal.accounts.models import User
from refportal.applications.models import Application
from refportal.applications.services import withdraw_application
from refportal.extensions import db
from refportal.references.roles import RefereeRole
from tests.builders import ask_three_referees, ready_application, settle_fees
from tests.e2e.pages import check_page
from tests.e2e.rating_measures import Run, complete
from tests.e2e.steps import login
from tests.factories import (
    DEFAULT_PASSWORD,
    declare_current_membership,
    make_application,
    make_user,
    record_eligibility,
)

pytestmark = pytest.mark.e2e

MIA = "mia@example.net"


def asked_by(name: str, email: str) -> None:
    """An applicant whose three referees, Mia among them, have been sent their requests."""
    applicant = make_user(email=email, name=name)
    application = ready_application(applicant)
    prefix = email.split("@")[0]
    ask_three_referees(
        application,
        referees=[
            ("Mia Mentor", MIA, RefereeRole.SUPERVISOR),
            ("Omar Haddad", f"omar.{prefix}@example.net", RefereeRole.RSC_PROVIDER),
            ("Lena Berg", f"lena.{prefix}@example.net", RefereeRole.COLLEAGUE),
        ],
    )
    db.session.commit()


def test_a_referee_with_two_requests_completes_both_from_my_requests(chromium, portal):
    with portal.app.app_context():
        asked_by("Ada Applicant", "ada@example.org")
        asked_by("Ben Applicant", "ben@example.org")

    mia = chromium.new_context().new_page()
    mia.goto(portal.link(MIA, "/r/", subject="Ada Applicant"))
    mia.click("main >> text=My reference requests")
    check_page(mia, "ask for my requests")
    mia.click("text=E-mail me the link")
    check_page(mia, "requests link sent")
    requests_page = portal.link(MIA, "/r/requests/")
    mia.goto(requests_page)
    check_page(mia, "my reference requests, two open")
    cards = mia.locator("section.card")
    assert cards.count() == 2
    assert {cards.nth(i).locator("h2").inner_text() for i in range(2)} == {"Ada Applicant", "Ben Applicant"}

    for done in range(2):
        card = mia.locator("section.card", has=mia.locator("text=Open the rating form")).first
        applicant = card.locator("h2").inner_text()
        card.locator("text=Open the rating form").click()
        assert applicant in mia.inner_text("main")
        complete(mia, Run(), axe=False)
        mia.wait_for_selector("text=Thank you")
        mia.goto(requests_page)
        assert mia.locator("section.card:has-text('Completed')").count() == done + 1
    check_page(mia, "my reference requests, both completed")
    assert mia.locator("text=Open the rating form").count() == 0
    receipts = [m for m in portal.mail_to(MIA) if "your reference for" in m["Subject"]]
    assert {m["Subject"].split(" for ")[-1].split(" is in")[0] for m in receipts} == {"Ada Applicant", "Ben Applicant"}

    # Ada withdraws and opens a new application; she asks Mia to let her rating stand, Mia confirms.
    with portal.app.app_context():
        ada = db.session.scalars(sa.select(User).where(User.email == "ada@example.org")).one()
        first = db.session.scalars(sa.select(Application).where(Application.applicant_id == ada.id)).one()
        withdraw_application(application=first, actor=ada)
        second = make_application(ada, category=2)
        record_eligibility(second)
        declare_current_membership(second)
        settle_fees(second)  # the application fee the reuse request waits for
        references_url = f"{portal.url}/applications/{second.id}/references/"
    applicant = chromium.new_context().new_page()
    login(applicant, portal, "ada@example.org", DEFAULT_PASSWORD)
    applicant.goto(references_url)
    check_page(applicant, "references with a rating to reuse")
    applicant.click("text=Ask Mia Mentor to reuse it")
    assert "asked to confirm their earlier rating" in applicant.inner_text("main")
    mia.goto(portal.link(MIA, "/r/", subject="used again"))
    check_page(mia, "confirm a reused rating")
    mia.click("text=Yes, use my rating again")
    assert "now stands for Ada Applicant" in mia.inner_text("main")
    applicant.reload()
    assert "confirmed" in applicant.locator("section.card", has_text="Mia Mentor").inner_text()
