"""poll_bounce_mailbox(): read delivery reports from the mailbox BOUNCE_ADDRESS delivers to.

BOUNCE_IMAP_URL = imaps://user:password@imap.example.org/INBOX (imap:// without TLS, for tests and
loopback), optionally ?processed=Processed to move handled messages to that folder. Each unseen
message is read once through refportal.mail.bounces and committed on its own; then it is flagged
\\Seen plus $RefportalHandled (acted on) or $RefportalIgnored (not a report about one of our
messages: auto-replies, junk, forged), or moved to the `processed` folder.

A message whose processing failed is rolled back, and then:
- the report's own fault (refportal.mail.bounces.report_at_fault: a value the database refuses):
  flagged \\Seen plus $RefportalRejected at once, never read again by itself (an operator who removes
  \\Seen has it read again);
- the database unreachable (connection lost, timed out): left unseen for the next poll, however
  long that lasts; the mailbox keeps it meanwhile;
- any other failure: left unseen and counted in the message's own flags ($RefportalFailed1, ...);
  at the FAILURE_LIMIT-th failure it is rejected as above, so no report is read at every poll for ever.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from imapclient import IMAPClient
from imapclient.imapclient import SEEN
from sqlalchemy import exc as sa_exc

from refportal.mail.bounces import IGNORE, record_bounce_report, report_at_fault
from refportal.transactions import unit_of_work

log = logging.getLogger(__name__)

HANDLED = b"$RefportalHandled"
IGNORED = b"$RefportalIgnored"
REJECTED = b"$RefportalRejected"
FAILURE_LIMIT = 3
FAILED = [f"$RefportalFailed{n}".encode() for n in range(1, FAILURE_LIMIT)]  # the failures so far
UNREACHABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError)


class BounceMailboxNotConfigured(RuntimeError):
    """No BOUNCE_IMAP_URL."""


@dataclass
class PollReport:
    fetched: int = 0
    acted: int = 0
    ignored: int = 0
    errors: int = 0  # left unseen for the next poll
    rejected: int = 0  # failed through their own fault, or too often: flagged, not read again


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
            fetched = imap.fetch([uid], ["BODY.PEEK[]", "FLAGS"]).get(uid, {})
            raw = fetched.get(b"BODY[]")
            if raw is None:
                continue  # expunged meanwhile
            report.fetched += 1
            try:
                with unit_of_work():  # each report committed on its own
                    verdict = record_bounce_report(raw, source="imap")
            except Exception as exc:
                outcome = _failed(imap, uid, exc, set(fetched.get(b"FLAGS", ())))
                log.exception("bounce report %s in %s: processing failed; %s", uid, settings.folder, outcome)
                if outcome == "rejected":
                    report.rejected += 1
                    if settings.processed:
                        imap.move([uid], settings.processed)
                else:
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


def _failed(imap: IMAPClient, uid: int, exc: Exception, flags: set[bytes]) -> str:
    """Flag a message whose processing failed as the module's docstring says; what was decided."""
    if isinstance(exc, UNREACHABLE):
        return "left unseen for the next poll"
    failures = sum(1 for flag in FAILED if flag in flags) + 1
    if report_at_fault(exc) or failures >= FAILURE_LIMIT:
        imap.add_flags([uid], [SEEN, REJECTED])
        return "rejected"
    imap.add_flags([uid], [FAILED[failures - 1]])
    return f"failure {failures} of {FAILURE_LIMIT}, left unseen for the next poll"


def run_bounce_poll() -> str:
    """The worker's periodic job: one poll of BOUNCE_IMAP_URL (each report committed as it is read)."""
    report = poll_bounce_mailbox()
    return (
        f"reports read {report.fetched}: acted on {report.acted}, ignored {report.ignored}, "
        f"failed {report.errors}, rejected {report.rejected}"
    )
