"""An employer, with no account, searches the public registry and opens an endorsement's verification
page; axe-core finds no violation on either page, at a wide and a phone-sized width, and neither page
scrolls sideways."""

from __future__ import annotations

import pytest

from tests.e2e.pages import check_page

pytestmark = pytest.mark.e2e

WIDTHS = {1280: 1024, 360: 740}


@pytest.mark.parametrize("width", list(WIDTHS))
def test_an_employer_searches_the_registry_and_verifies_an_endorsement(chromium, portal, demo, width):
    context = chromium.new_context(viewport={"width": width, "height": WIDTHS[width]})
    page = context.new_page()
    page.goto(f"{portal.url}/registry/")
    check_page(page, f"registry at {width} px")
    page.get_by_label("Name").fill("romano")
    page.get_by_label("Category").select_option("3")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/registry/?*")
    rows = page.locator("table.registry tbody tr")
    assert rows.count() == 1
    assert "Gia Romano" in rows.first.inner_text() and "Infant Mental Health Specialist" in rows.first.inner_text()
    assert "Hal Nguyen" not in page.content() and "Imani" not in page.content()
    check_page(page, f"registry search results at {width} px")
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    rows.first.get_by_role("link").click()
    page.wait_for_selector("p.verdict")
    assert "Valid today" in page.locator("p.verdict").inner_text()
    assert "Gia Romano" in page.content() and "Ann Arbor, Michigan" in page.content()
    check_page(page, f"registry verification page at {width} px")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert context.cookies() == []  # the registry set no cookie
    context.close()
