"""Browser tests: the portal served by a real server on loopback, mail caught by a real SMTP server,
Debian's Chromium driven by Playwright, axe-core run on every page visited."""

from __future__ import annotations

import re
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from refportal.mail.sender import deliver_due
from tests.smtp import free_port
from tests.support import require

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium():
    executable = shutil.which("chromium")
    if executable is None:
        require("Chromium", "Debian's chromium package is not installed (make test installs it as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require("Playwright", "the dev extra is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Portal:
    """The live portal: its address, its app, and the mail it sent (read at the SMTP server)."""

    def __init__(self, url, app, smtp_server):
        self.url, self.app, self.smtp = url, app, smtp_server
        self.checked_pages: list[str] = []

    def deliver(self) -> None:
        with self.app.app_context():
            deliver_due()

    def mail_to(self, address: str):
        self.deliver()
        return [d.message for d in self.smtp.delivered if d.rcpt_tos == [address]]

    def link(self, address: str, path: str, subject: str | None = None) -> str:
        """The link under `path` in the newest e-mail to `address` (optionally with that subject)."""
        messages = [m for m in self.mail_to(address) if subject is None or subject in m["Subject"]]
        assert messages, f"no e-mail to {address}"
        text = messages[-1].get_body(preferencelist=("plain",)).get_content()
        match = re.search(re.escape(self.url) + re.escape(path) + r"[^\s]*", text)
        assert match, f"no {path} link in:\n{text}"
        return match.group(0)


@pytest.fixture
def portal_settings():
    """Settings a test module adds to the live portal's (override this fixture in the module)."""
    return {}


@pytest.fixture
def portal(make_app, smtp_server, portal_settings):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = make_app(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_server.port,
        PORTAL_BASE_URL=url,
        MAIL_TIMEOUT_SECONDS=5,
        **portal_settings,
    )
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Portal(url, app, smtp_server)
    server.shutdown()
    thread.join(5)


@pytest.fixture
def demo(portal):
    """The live portal holding `flask seed-demo`'s accounts and applications (password DEMO_PASSWORD);
    returns the id of Fay's application: submitted, three ratings, so its file has the chart."""
    import sqlalchemy as sa

    from refportal.accounts.models import User
    from refportal.applications.models import Application
    from refportal.demo import seed_demo_data
    from refportal.extensions import db

    with portal.app.app_context():
        seed_demo_data()
        db.session.commit()
        return db.session.scalar(
            sa.select(Application.id)
            .join(User, Application.applicant_id == User.id)
            .where(User.email == "fay@example.org")
        )
