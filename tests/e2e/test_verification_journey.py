"""In Chromium, item-by-item verification with the demo's data: a reviewer verifies Fay's file requirement
by requirement and asks for more on one (her RSC), the administrator asks for more information, Fay reads
which item needs what on her application page, uploads her RSC verification form and sends the file back,
and the reviewer verifies the item in the new cycle. axe-core checks each page."""

from __future__ import annotations

import pytest

from refportal.demo import DEMO_PASSWORD
from tests.documents_samples import pdf
from tests.e2e.pages import check_page
from tests.e2e.steps import login

pytestmark = pytest.mark.e2e

ASKED = "Please upload your RSC provider's signed verification form for the hours you list."


def _verdict(page, requirement: str, verdict: str, reason: str = "") -> None:
    page.check(f"input[name='verdict-{requirement}-verdict'][value={verdict}]")
    if reason:
        page.fill(f"#verdict-{requirement}-reason", reason)
    page.locator(f"#verdict-{requirement} button:text-is('Record the verdict')").click()
    page.wait_for_selector(f"#verdict-{requirement} .badge")


def test_a_reviewer_verifies_item_by_item_and_asks_for_one_item(chromium, portal, demo, tmp_path):
    file_url = f"{portal.url}/review/applications/{demo}"
    reviewer = chromium.new_context().new_page()
    login(reviewer, portal, "reviewer@example.org", DEMO_PASSWORD)
    reviewer.goto(file_url)
    reviewer.wait_for_selector("#verification-title")
    check_page(reviewer, "file, verification not started")
    for requirement in ("education", "training"):
        _verdict(reviewer, requirement, "verified")
    _verdict(reviewer, "rsc", "needs_more", ASKED)
    assert ASKED in reviewer.inner_text("#verdict-rsc")
    check_page(reviewer, "file, one item needs more")

    admin = chromium.new_context().new_page()
    login(admin, portal, "admin@example.org", DEMO_PASSWORD)
    admin.goto(file_url)
    admin.check("input[name=decision-outcome][value=more_information]")
    admin.fill("#decision-message", "One item of your file needs more before the reviewers can finish.")
    admin.click("main button:text-is('Record the decision')")
    admin.wait_for_selector(".flash-success")
    told = portal.mail_to("fay@example.org")[-1].get_body(preferencelist=("plain",)).get_content()
    assert ASKED in told

    fay = chromium.new_context().new_page()
    login(fay, portal, "fay@example.org", DEMO_PASSWORD)
    fay.goto(f"{portal.url}/applications/{demo}")
    assert ASKED in fay.inner_text("main")
    check_page(fay, "application, items asked for")
    fay.goto(f"{portal.url}/applications/{demo}/documents")
    form = tmp_path / "rsc-verification.pdf"
    form.write_bytes(pdf("RSC verification, signed by Morgan Reyes"))
    fay.select_option("#purpose", "rsc_verification")
    fay.set_input_files("#document", str(form))
    fay.click("main button:text-is('Upload')")
    fay.wait_for_selector("text=rsc-verification.pdf")
    fay.goto(f"{portal.url}/applications/{demo}/submit")
    fay.check("#attest")
    fay.click("main button:text-is('Submit for review')")
    fay.wait_for_selector(".flash-success")

    reviewer.goto(file_url)
    assert "Earlier (cycle 1)" in reviewer.inner_text("#verdict-rsc")
    assert "rsc-verification.pdf" in reviewer.inner_text("main")
    _verdict(reviewer, "rsc", "verified")
    assert "Earlier" not in reviewer.inner_text("#verdict-rsc .badge")
    check_page(reviewer, "file, the item verified in the new cycle")
