"""poll_bounce_mailbox(): read delivery reports from the mailbox BOUNCE_ADDRESS delivers to.

BOUNCE_IMAP_URL = imaps://user:password@imap.example.org/INBOX (imap:// without TLS, for tests and
loopback), optionally ?processed=Processed to move handled messages to that folder. Each unseen
message is read once through refportal.mail.bounces and committed on its own; then it is flagged
\\Seen plus $RefportalHandled (acted on) or $RefportalIgnored (not a report about one of our
messages: auto-replies, junk, forged), or moved to the `processed` folder. A message whose
processing failed (the database, say) is rolled back and left unseen for the next poll.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from imapclient import IMAPClient
from imapclient.imapclient import SEEN

from refportal.extensions import db
from refportal.mail.bounces import IGNORE, record_bounce_report

log = logging.getLogger(__name__)

HANDLED = b"$RefportalHandled"
IGNORED = b"$RefportalIgnored"


class BounceMailboxNotConfigured(RuntimeError):
    """No BOUNCE_IMAP_URL."""


@dataclass
class PollReport:
    fetched: int = 0
    acted: int = 0
    ignored: int = 0
    errors: int = 0


@dataclass
class MailboxSettings:
    host: str
    port: int
    use_ssl: bool
    username: str
    password: str
    folder: str
    processed: str | None


def mailbox_settings(url: str) -> MailboxSettings:
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname:
        raise BounceMailboxNotConfigured("BOUNCE_IMAP_URL must look like imaps://user:password@host/INBOX")
    use_ssl = parts.scheme == "imaps"
    processed = parse_qs(parts.query).get("processed", [""])[0] or None
    return MailboxSettings(
        host=parts.hostname,
        port=parts.port or (993 if use_ssl else 143),
        use_ssl=use_ssl,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
        processed=processed,
    )


def poll_bounce_mailbox() -> PollReport:
    """One poll: every unseen message in the folder, each committed on its own (for the worker's job)."""
    url = current_app.config.get("BOUNCE_IMAP_URL")
    if not url:
        raise BounceMailboxNotConfigured("BOUNCE_IMAP_URL is not set")
    settings = mailbox_settings(url)
    report = PollReport()
    context = ssl.create_default_context() if settings.use_ssl else None
    with IMAPClient(
        settings.host,
        port=settings.port,
        ssl=settings.use_ssl,
        ssl_context=context,
        timeout=current_app.config["BOUNCE_IMAP_TIMEOUT_SECONDS"],
    ) as imap:
        imap.login(settings.username, settings.password)
        if settings.processed and not imap.folder_exists(settings.processed):
            imap.create_folder(settings.processed)
        imap.select_folder(settings.folder)
        for uid in imap.search(["UNSEEN"]):
            fetched = imap.fetch([uid], ["BODY.PEEK[]"]).get(uid, {})
            raw = fetched.get(b"BODY[]")
            if raw is None:
                continue  # expunged meanwhile
            report.fetched += 1
            try:
                verdict = record_bounce_report(raw, source="imap")
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception(
                    "bounce report %s in %s: processing failed; left unseen for the next poll", uid, settings.folder
                )
                report.errors += 1
                continue
            flag = IGNORED if verdict.kind == IGNORE else HANDLED
            if verdict.kind == IGNORE:
                report.ignored += 1
                log.info("bounce report %s in %s ignored: %s", uid, settings.folder, verdict.note)
            else:
                report.acted += 1
            imap.add_flags([uid], [SEEN, flag])
            if settings.processed:
                imap.move([uid], settings.processed)
    return report


def run_bounce_poll() -> str:
    """The worker's periodic job: one poll of BOUNCE_IMAP_URL (each report committed as it is read)."""
    report = poll_bounce_mailbox()
    return f"reports read {report.fetched}: acted on {report.acted}, ignored {report.ignored}, failed {report.errors}"
