"""In Chromium: the applicant adds a transcript from the application page's Documents link, sees it
ready and downloads it; an administrator adds a document on the applicant's behalf and opens the list of
documents to look at. axe-core checks each page."""

from __future__ import annotations

import pytest

from tests.documents_samples import pdf
from tests.e2e.pages import check_page
from tests.e2e.steps import login
from tests.factories import DEFAULT_PASSWORD
from tests.reviews.helpers import asked_referees

pytestmark = pytest.mark.e2e


def test_the_applicant_adds_a_document_and_staff_add_one_for_them(chromium, portal, clamd_server, tmp_path):
    portal.app.config["CLAMD_ADDRESS"] = clamd_server.unix_address
    with portal.app.app_context():
        world = asked_referees()
    transcript = tmp_path / "transcript.pdf"
    transcript.write_bytes(pdf("official transcript"))

    page = chromium.new_context().new_page()
    login(page, portal, "applicant@example.org", DEFAULT_PASSWORD)
    page.goto(f"{portal.url}/applications/{world['application']}")
    page.click("text=Your documents: add or remove")
    page.wait_for_selector("input[type=file]#document")
    page.select_option("#purpose", "transcript")
    page.set_input_files("#document", str(transcript))
    page.click("main button:text-is('Upload')")
    page.wait_for_selector("td.scan-clean")
    assert "transcript.pdf is kept: it is ready." in page.content()
    check_page(page, "applicant documents")
    with page.expect_download() as download:
        page.click("a:text-is('transcript.pdf')")
    assert download.value.suggested_filename == "transcript.pdf"

    staff = chromium.new_context().new_page()
    login(staff, portal, "admin@example.org", DEFAULT_PASSWORD)
    staff.goto(f"{portal.url}/review/applications/{world['application']}")
    staff.click("text=Add a document on the applicant's behalf")
    staff.wait_for_selector("input[type=file]#document")
    check_page(staff, "staff document upload")
    staff.select_option("#purpose", "resume")
    staff.set_input_files("#document", str(transcript))
    staff.click("main button:text-is('Upload')")
    staff.wait_for_selector("#documents-title")
    assert "<h3>Résumé</h3>" in staff.content() and "<h3>Transcript</h3>" in staff.content()
    staff.goto(f"{portal.url}/admin/documents/")
    check_page(staff, "documents to look at")
