"""In Chromium: an administrator enters a referee's signed paper rating from the file, uploading the
signed PDF; the file then says "Entered by staff" and offers the form, scanned by a real clamd. axe-core
checks the page with the form."""

from __future__ import annotations

import pytest

from refportal.references.rating_form import ITEM_KEYS
from tests.documents_samples import pdf
from tests.e2e.pages import check_page
from tests.e2e.steps import finish_rating, login, rate
from tests.factories import DEFAULT_PASSWORD
from tests.reviews.helpers import asked_referees

pytestmark = pytest.mark.e2e


def test_an_administrator_enters_a_signed_paper_rating(chromium, portal, clamd_server, tmp_path):
    portal.app.config["CLAMD_ADDRESS"] = clamd_server.unix_address
    with portal.app.app_context():
        world = asked_referees()
    signed = tmp_path / "signed-form.pdf"
    signed.write_bytes(pdf("signed by Sam Supervisor"))

    page = chromium.new_context().new_page()
    login(page, portal, "admin@example.org", DEFAULT_PASSWORD)
    page.goto(f"{portal.url}/review/applications/{world['application']}")
    page.click("text=Enter a rating from the referee's signed paper form >> nth=0")
    page.wait_for_selector("input[type=file]#signed_form")
    check_page(page, "staff paper rating form")
    page.set_input_files("#signed_form", str(signed))
    rate(page, ITEM_KEYS)
    finish_rating(page, "Sam Supervisor")
    page.check("input[name=referee_role][value=supervisor]")
    page.check("input[name=endorsement][value=none]")
    page.click("main button:text-is('Enter the rating')")
    page.wait_for_selector("text=Entered by staff")
    assert "rating is entered, marked as entered by staff" in page.content()
    link = page.locator("a:text-is('signed-form.pdf')")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "signed-form.pdf"
