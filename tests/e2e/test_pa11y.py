"""An independent WCAG 2 AA check of the reviewer's workspace: pa11y with its two runners, axe-core and
HTML_CodeSniffer, at 1280×1024, on the queue and on a file with three ratings (the chart), logged in as
a reviewer; zero issues allowed. pa11y comes from the npm registry into .node/ (`make test` installs it,
at the versions locked in tests/e2e/pa11y/) and drives Debian's Chromium."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.parse
import urllib.request

import pytest

from refportal.demo import DEMO_PASSWORD, FAY_REFEREES
from tests.e2e.pa11y_runner import pa11y, summary
from tests.e2e.pa11y_runner import pa11y_settings as runner_settings
from tests.web import csrf_token_from

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pa11y_settings() -> dict:
    """pa11y's settings for every run here (the session cookie is added per run)."""
    return runner_settings()


def session_cookie(portal, email: str, password: str) -> str:
    """Log in over HTTP as a person would (the form and its CSRF token); returns the Cookie header."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(portal.url + "/login", timeout=30) as page:
        token = csrf_token_from(page.read().decode())
    form = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": password}).encode()
    with opener.open(portal.url + "/login", data=form, timeout=30) as landed:
        assert landed.url == portal.url + "/review/", f"login as {email} landed on {landed.url}"
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def test_the_queue_and_a_file_with_its_chart_pass_pa11y(portal, demo, pa11y_settings, tmp_path):
    cookie = session_cookie(portal, "reviewer@example.org", DEMO_PASSWORD)
    file_url = f"{portal.url}/review/applications/{demo}"
    opener = urllib.request.build_opener()
    opener.addheaders = [("Cookie", cookie)]
    with opener.open(file_url, timeout=30) as response:
        body = response.read().decode()
    # The chart is there, with a bar for each of the three referees.
    missing = [name for name, *_ in FAY_REFEREES if not re.search(rf"<title>{name}: \d\.\d\d</title>", body)]
    assert not missing, f"no bar in the chart for {missing}"

    found = {
        name: pa11y(url, pa11y_settings, tmp_path, cookie, expect=element)
        for name, url, element in (
            ("queue", f"{portal.url}/review/", "table.queue"),
            ("file", file_url, "figure.chart"),
        )
    }
    assert found == {"queue": [], "file": []}, "\n".join(
        f"pa11y on the {name}: {len(issues)} issues\n{summary(issues)}" for name, issues in found.items()
    )


BAD_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Control</title>
<style>.faint { color: #aaaaaa; background: #ffffff; }</style></head>
<body><main><h1>Control</h1>
<p class="faint">Light grey text on white: 2.3 to 1, under the 4.5 to 1 that WCAG 2 AA asks.</p>
<svg role="img" aria-label="A chart drawn as the file's chart was" width="200" height="40">
  <text x="10" y="20" fill="#1f2933">Reflection</text></svg>
</main></body></html>
"""


def test_the_pa11y_check_finds_a_contrast_failure_when_there_is_one(pa11y_settings, tmp_path):
    """The control: both runners report the faint text, and axe reports text drawn inside an SVG (its
    contrast cannot be measured there), as the file's chart had it before its labels became HTML."""
    page = tmp_path / "bad.html"
    page.write_text(BAD_PAGE)
    issues = pa11y(page.as_uri(), pa11y_settings, tmp_path)
    contrast = [i for i in issues if i["code"] == "color-contrast" or "1_4_3" in i["code"]]
    assert {i["runner"] for i in contrast if ".faint" in i["selector"] or "faint" in i["context"]} == {
        "axe",
        "htmlcs",
    }, summary(issues)
    assert any(i["runner"] == "axe" and "<text" in i["context"] for i in contrast), summary(issues)
