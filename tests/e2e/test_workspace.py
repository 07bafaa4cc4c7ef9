"""The reviewer's and the administrator's pages on a wide and a phone-sized screen: axe-core finds no
violation on the queue, an application file with its chart, the accounts, the roster upload, the rounds
(one round too), "My files", the API page and the mail console (a message too); the queue and the file use
the width of the screen, and no page scrolls sideways (a wide table scrolls in its own region)."""

from __future__ import annotations

import pytest

from refportal.demo import DEMO_PASSWORD
from tests.e2e.pages import check_page
from tests.e2e.steps import login

pytestmark = pytest.mark.e2e

WIDTHS = {1280: 1024, 360: 740}


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def right_edge(page, selector: str) -> float:
    return page.evaluate("s => document.querySelector(s).getBoundingClientRect().right", selector)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_staff_pages_pass_axe_and_fit_the_screen(chromium, portal, demo, width):
    viewport = {"width": width, "height": WIDTHS[width]}
    reviewer = chromium.new_context(viewport=viewport).new_page()
    login(reviewer, portal, "reviewer@example.org", DEMO_PASSWORD)
    reviewer.wait_for_selector("table.queue")
    check_page(reviewer, f"review queue at {width} px")
    assert page_width(reviewer) <= width
    heights = reviewer.evaluate(
        "[...document.querySelectorAll('.filter-grid input, .filter-grid select')]"
        ".map(e => Math.round(e.getBoundingClientRect().height))"
    )
    assert len(set(heights)) == 1, f"the filters' heights differ: {heights}"  # the search box as tall as the selects
    if width >= 1280:
        # The whole table inside the card, the card across the screen (less its margins).
        main = reviewer.evaluate(
            "(() => { const r = document.querySelector('main').getBoundingClientRect(); return [r.left, r.right]; })()"
        )
        assert right_edge(reviewer, "table.queue") <= main[1] and main[1] - main[0] >= width - 64, main
        assert reviewer.evaluate("(e => e.scrollWidth <= e.clientWidth)(document.querySelector('.table-scroll'))")

    reviewer.goto(f"{portal.url}/review/applications/{demo}")
    reviewer.wait_for_selector("figure.chart")
    check_page(reviewer, f"application file with chart at {width} px")
    assert page_width(reviewer) <= width
    assert right_edge(reviewer, "figure.chart") <= right_edge(reviewer, "main")

    admin = chromium.new_context(viewport=viewport).new_page()
    login(admin, portal, "admin@example.org", DEMO_PASSWORD)
    admin.wait_for_selector("table.queue")
    admin.goto(f"{portal.url}/review/applications/{demo}")
    check_page(admin, f"application file for an administrator at {width} px")
    admin.goto(f"{portal.url}/admin/users")
    check_page(admin, f"admin accounts at {width} px")
    assert page_width(admin) <= width
    admin.goto(f"{portal.url}/review/rounds")
    check_page(admin, f"review rounds at {width} px")
    assert page_width(admin) <= width
    admin.locator("main table a[href*='/review/rounds/']").first.click()
    admin.wait_for_selector("main h1")
    check_page(admin, f"a round at {width} px")
    assert page_width(admin) <= width
    admin.goto(f"{portal.url}/admin/api/")
    check_page(admin, f"API keys and webhooks at {width} px")
    assert page_width(admin) <= width
    reviewer.goto(f"{portal.url}/review/mine")
    check_page(reviewer, f"my assigned files at {width} px")
    assert page_width(reviewer) <= width
    admin.goto(f"{portal.url}/admin/roster")
    check_page(admin, f"admin roster upload at {width} px")
    admin.goto(f"{portal.url}/staff/mail")
    check_page(admin, f"mail console at {width} px")
    assert page_width(admin) <= width
    admin.locator("table.mail-console a[href*='/staff/mail/']").first.click()
    admin.wait_for_selector("main h1")
    check_page(admin, f"mail console message at {width} px")
