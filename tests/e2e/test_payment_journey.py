"""Paying online in Chromium: an applicant whose three ratings are in pays the fees on the Stripe
stand-in's hosted page, comes back to "Paid", and the application then submits."""

from __future__ import annotations

import re

import pytest

from refportal.extensions import db
from tests.builders import ask_three_referees, rate, ready_application
from tests.e2e.pages import check_page
from tests.e2e.steps import login
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.payments.helpers import WEBHOOK, WEBHOOK_SECRET, stripe_settings
from tests.payments.stripe_standin import StripeStandin

pytestmark = pytest.mark.e2e


@pytest.fixture
def standin():
    server = StripeStandin(webhook_secret=WEBHOOK_SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def portal_settings(standin):
    # The application fee due at submission, so the referee requests go out before anything is paid.
    return {**stripe_settings(standin), "FEE_APPLICATION_FEE_DUE": "submission"}


def test_an_applicant_pays_by_card_then_submits(chromium, portal, standin):
    standin.webhook_url = portal.url + WEBHOOK
    with portal.app.app_context():
        applicant = make_user(email="pat@example.org", name="Pat Payer")
        application = ready_application(applicant, settled=False)
        rate(ask_three_referees(application))
        db.session.commit()
        application_id = application.id
    page = chromium.new_context().new_page()
    login(page, portal, "pat@example.org", DEFAULT_PASSWORD)
    page.goto(f"{portal.url}/applications/{application_id}")
    check_page(page, "application with the pay button")
    page.click("main button:has-text('by card')")
    page.wait_for_url(re.compile(re.escape(standin.url) + "/pay/"))
    [created] = standin.created()
    amount = int(created.params["line_items"][0]["price_data"]["unit_amount"])
    assert amount > 0
    page.click("button:has-text('Pay')")  # on Stripe's (the stand-in's) hosted page
    page.wait_for_url(re.compile(re.escape(portal.url) + r"/fees/checkout/\d+/return"))
    assert "Paid." in page.inner_text("main")
    check_page(page, "card payment recorded")
    assert standin.delivered == [("checkout.session.completed", 200)]
    receipts = [m for m in portal.mail_to("pat@example.org") if m["Subject"].startswith("Receipt R-")]
    assert len(receipts) == 1
    page.click("text=Back to the application")
    assert "by card" not in page.inner_text("main")
    page.click("text=Submit for review")
    page.check("#attest")
    page.click("main button:text-is('Submit for review')")
    assert "Your application is submitted for review" in page.inner_text("main")
    check_page(page, "submitted after paying")
