"""Every page a journey looks at: axe-core finds no violation of any impact, and a screenshot is kept."""

from __future__ import annotations

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.artifacts import ARTIFACTS

AXE = Axe()
CHECKED: list[str] = []


def check_page(page, name: str) -> None:
    """Run axe-core on the page as it is now, and save a full-page screenshot named `name`."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = str(ARTIFACTS / f"{len(CHECKED) + 1:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower())}.png")
    for attempt in range(3):  # the screenshot is a record, not a check: Chromium sometimes refuses one once
        try:
            page.screenshot(path=path, full_page=True, timeout=10_000)
            break
        except PlaywrightError:
            if attempt == 2:
                CHECKED.append(f"{name}: no screenshot (Chromium could not capture one)")
            page.wait_for_timeout(250)
    results = AXE.run(page)
    CHECKED.append(f"{name}: {page.url} ({results.violations_count} violations)")
    (ARTIFACTS / "pages-checked.txt").write_text("\n".join(CHECKED) + "\n")
    assert results.violations_count == 0, f"{name} ({page.url}):\n{results.generate_report()}"
