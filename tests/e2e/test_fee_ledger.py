"""In Chromium, on the live portal: an administrator finds an applicant's balance on the outstanding
list, records their cheque (a bad amount first, refused with its message), downloads the CSV export;
the applicant follows the receipt e-mail's link to the printable receipt. axe-core checks each page."""

from __future__ import annotations

from pathlib import Path

import pytest

from refportal.db import utc_today
from refportal.payments.models import FeeKind
from tests.e2e.pages import check_page
from tests.e2e.steps import login
from tests.factories import DEFAULT_PASSWORD
from tests.payments.staff_helpers import make_account, make_admin

pytestmark = pytest.mark.e2e


def test_an_administrator_records_a_cheque_and_the_payer_prints_the_receipt(chromium, portal):
    with portal.app.app_context():
        make_admin()
        made = make_account(
            email="pat@example.org", name="Pat Payer", charges=((FeeKind.APPLICATION, 2500), (FeeKind.PROCESSING, 5000))
        )

    page = chromium.new_context(accept_downloads=True).new_page()
    login(page, portal, "admin@example.org", DEFAULT_PASSWORD)
    page.click("nav >> text=Fees")
    page.wait_for_selector("text=Pat Payer")
    check_page(page, "staff outstanding fees")
    with page.expect_download() as download:
        page.click("text=Every account (CSV)")
    csv_text = Path(download.value.path()).read_text(encoding="utf-8")
    assert "Pat Payer" in csv_text and "75.00" in csv_text

    page.click("text=Pat Payer")
    page.wait_for_selector("#record-payment")
    page.fill("#payment-reference", "Cheque 1042")
    page.fill("#payment-received_on", utc_today().isoformat())
    page.fill("#payment-amount", "75.001")
    page.click("main button:text-is('Record the payment')")
    page.wait_for_selector("text=at most two decimals")
    check_page(page, "staff fee account with a refused amount")
    page.fill("#payment-amount", "75.00")
    page.click("main button:text-is('Record the payment')")
    page.wait_for_selector("text=The payment is recorded")
    assert "$0.00 owed" in page.inner_text("#balance")
    check_page(page, "staff fee account")
    assert f"/staff/fees/accounts/{made.account_id}" in page.url

    link = portal.link("pat@example.org", "/fees/receipts/", subject="Receipt")
    payer = chromium.new_context().new_page()
    login(payer, portal, "pat@example.org", DEFAULT_PASSWORD)
    payer.goto(link)
    payer.wait_for_selector("h1:has-text('Receipt R-')")
    body = payer.inner_text("main")
    assert "Pat Payer" in body and "$75.00" in body and "Cheque 1042" in body
    assert payer.is_visible("button:text-is('Print this receipt')")
    check_page(payer, "printable receipt")
