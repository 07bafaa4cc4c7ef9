"""Every page a journey looks at: axe-core finds no violation of any impact, and a screenshot is kept."""

from __future__ import annotations

import re

from axe_playwright_python.sync_playwright import Axe

from tests.e2e.conftest import ARTIFACTS

AXE = Axe()
CHECKED: list[str] = []


def check_page(page, name: str) -> None:
    """Run axe-core on the page as it is now, and save a full-page screenshot named `name`."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(ARTIFACTS / f"{len(CHECKED) + 1:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower())}.png"), full_page=True
    )
    results = AXE.run(page)
    CHECKED.append(f"{name}: {page.url} ({results.violations_count} violations)")
    (ARTIFACTS / "pages-checked.txt").write_text("\n".join(CHECKED) + "\n")
    assert results.violations_count == 0, f"{name} ({page.url}):\n{results.generate_report()}"
