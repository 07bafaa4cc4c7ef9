"""In Chromium, the year's renewal end to end with the demo's data: Jo Park (her renewal window open)
records her membership, training and RSC, watches the checklist turn to "Met", signs the attestations
and submits; an administrator approves it from the renewal queue; an employer, with no account, finds her
endorsement valid until the end of the next period on its verification page. axe-core checks each page."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from refportal.accounts.models import User
from refportal.db import utc_today
from refportal.demo import DEMO_PASSWORD
from refportal.endorsements.models import Endorsement
from refportal.extensions import db
from tests.e2e.pages import check_page
from tests.e2e.steps import login, staff_record_a_cheque

pytestmark = pytest.mark.e2e


def _jo(portal) -> Endorsement:
    with portal.app.app_context():
        endorsement = db.session.scalars(
            sa.select(Endorsement).join(User, Endorsement.holder_id == User.id).where(User.email == "jo@example.org")
        ).one()
        db.session.expunge(endorsement)
        return endorsement


def _add_training(page, title: str, day, hours: str, *, rsc: bool = False) -> None:
    page.fill("#training-title", title)
    page.fill("#training-provider", "Michigan Association for Infant Mental Health")
    page.fill("#training-taken_on", day.isoformat())
    page.fill("#training-hours", hours)
    if rsc:
        page.check("#training-about_rsc")
    page.click("button:text-is('Add the training')")
    page.wait_for_selector(f"td:text-is('{title}')")


def _endorsee_renews(page, portal, number: str, period_ends_on) -> None:
    login(page, portal, "jo@example.org", DEMO_PASSWORD)
    page.wait_for_selector("text=Renew this endorsement")
    page.click("text=Renew this endorsement")
    page.click("button:text-is('Start my renewal')")
    page.wait_for_selector("#checklist")
    assert page.locator("tr.not-met").count() >= 3
    assert page.locator("button:text-is('Submit my renewal')").is_disabled()
    check_page(page, "renewal, just started")

    page.select_option("#membership-association", "infancy_onward")
    page.fill("#membership-member_number", "IO-2291")
    page.fill("#membership-expires_on", (period_ends_on + timedelta(days=200)).isoformat())
    page.click("button:text-is('Save the membership')")
    page.wait_for_selector("text=Declared: INfancy Onward")

    recent = utc_today() - timedelta(days=20)
    _add_training(page, "Reflective supervision in home visiting", recent, "8", rsc=True)
    _add_training(page, "Attachment and early relationships", recent - timedelta(days=30), "7")

    page.fill("#rsc-provider", "Morgan Reyes")
    page.fill("#rsc-provider_credential", "IMH-E Mentor–Clinical")
    page.fill("#rsc-starts_on", (recent - timedelta(days=200)).isoformat())
    page.fill("#rsc-ends_on", recent.isoformat())
    page.fill("#rsc-hours", "12")
    page.check("input[name='rsc-format'][value=individual]")
    page.click("button:text-is('Add the supervision/consultation')")
    page.wait_for_selector("td:text-is('Individual')")

    for checkbox in page.locator("input[name='declarations-attestations']").all():
        checkbox.check()
    page.click("button:text-is('Save the declarations')")
    page.wait_for_selector("button:text-is('Submit my renewal'):not([disabled])")
    assert page.locator("tr.not-met").count() == 0
    assert "Still to pay" in page.locator("#fees tr.ledger-balance").inner_text()  # the renewal fee, not yet paid
    staff_record_a_cheque(portal, "jo@example.org")
    page.reload()
    page.wait_for_selector("#fees :text('Paid in full')")
    check_page(page, "renewal, every requirement met")
    page.click("button:text-is('Submit my renewal')")
    page.wait_for_selector("text=waiting for staff")
    check_page(page, "renewal submitted")


def approve_from_the_queue(page, portal) -> None:
    page.goto(f"{portal.url}/staff/renewals/")
    check_page(page, "renewal queue")
    page.click("a:text-is('Jo Park')")
    page.wait_for_selector("#checklist-title")
    assert "IMH-E Mentor–Clinical" in page.content() and "Reflective supervision in home visiting" in page.content()
    check_page(page, "a renewal for staff")
    page.click("button:text-is('Approve the renewal')")
    page.wait_for_selector(".flash-success")


def test_an_endorsee_renews_staff_approve_and_an_employer_verifies(chromium, portal, demo):
    jo = _jo(portal)
    assert jo.status.value == "renewal_due"
    context = chromium.new_context()
    _endorsee_renews(context.new_page(), portal, jo.number, jo.period_ends_on)
    assert any("renewal" in m["Subject"].lower() for m in portal.mail_to("jo@example.org"))
    context.close()

    staff = chromium.new_context().new_page()
    login(staff, portal, "admin@example.org", DEMO_PASSWORD)
    approve_from_the_queue(staff, portal)
    assert any("renewed" in m["Subject"].lower() for m in portal.mail_to("jo@example.org"))

    renewed = _jo(portal)
    assert renewed.status.value == "active"
    assert renewed.period_starts_on == jo.period_ends_on + timedelta(days=1)
    assert renewed.period_ends_on > jo.period_ends_on

    employer = chromium.new_context()
    page = employer.new_page()
    page.goto(f"{portal.url}/registry/")
    page.get_by_label("Name").fill("park")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/registry/?*")
    page.locator("table.registry tbody tr").first.get_by_role("link").click()
    page.wait_for_selector("p.verdict")
    assert "Valid today" in page.locator("p.verdict").inner_text()
    assert renewed.period_ends_on.strftime("%d %B %Y") in page.content()
    check_page(page, "verification after the renewal")
    assert employer.cookies() == []
    employer.close()
