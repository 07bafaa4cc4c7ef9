"""The portal as a person uses it through the test client: forms posted with their CSRF token, links
followed from e-mails. A plain module: conftest.py files and tests import from here."""

from __future__ import annotations

import re
from collections import deque

from tests.factories import DEFAULT_PASSWORD

CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_PATTERN.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


class Browser:
    """The test client used as a person would: GET the form, then POST it with its CSRF token."""

    def __init__(self, client):
        self.client = client

    def get(self, url, **kwargs):
        return self.client.get(url, **kwargs)

    def submit(self, url, data, *, form_url=None, follow_redirects=False):
        page = self.client.get(form_url or url)
        assert page.status_code == 200, f"GET {form_url or url} answered {page.status_code}"
        payload = {"csrf_token": csrf_token_from(page.get_data(as_text=True)), **data}
        return self.client.post(url, data=payload, follow_redirects=follow_redirects)

    def login(self, email, password=DEFAULT_PASSWORD):
        response = self.submit("/login", {"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    def logout(self):
        return self.submit("/logout", {}, form_url="/dashboard")


def link_in(text: str, path_prefix: str) -> str:
    """The first link in an e-mail text whose path starts with `path_prefix`, as a local path."""
    match = re.search(r"https://portal\.example\.test(" + re.escape(path_prefix) + r"[^\s\"<&]*)", text)
    assert match, f"no {path_prefix} link in:\n{text}"
    return match.group(1)


def crawl(browser, start="/dashboard"):
    """Every same-site page reachable by GET from the dashboard (the applicant's whole world)."""
    seen, queue, pages = set(), deque([start]), {}
    while queue:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = browser.get(url)
        body = response.get_data(as_text=True)
        pages[url] = body
        for link in re.findall(r'href="(/[^"#]*)"', body):
            if not link.startswith(("/static/", "/dev/mail", "/r/")) and link not in seen:
                queue.append(link)
    return pages
