"""Deliver due outbox rows over one SMTP connection per batch, retrying what may succeed later."""

from __future__ import annotations

import contextlib
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import defer

from refportal import claims
from refportal.db import utcnow
from refportal.extensions import db
from refportal.mail.addresses import unsendable_reason, wire_address
from refportal.mail.marks import sent_marks
from refportal.mail.models import OutboxEmail, OutboxStatus
from refportal.mail.services import message_failed_for_good
from refportal.mail.verp import envelope_sender
from refportal.mail.wire import wire_bytes
from refportal.transactions import unit_of_work


class MailNotConfigured(RuntimeError):
    """No MAIL_SERVER: messages stay in the outbox and the mail viewer."""


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0


def claim_due(*, limit: int, now: datetime) -> list[OutboxEmail]:
    """Mark up to `limit` due rows as being sent by this sender, and commit the claim (refportal.claims).
    A row claimed by a sender that died is taken up again once its lease has run out."""
    due = sa.or_(
        sa.and_(OutboxEmail.status == OutboxStatus.QUEUED, OutboxEmail.next_attempt_at <= now),
        sa.and_(OutboxEmail.status == OutboxStatus.SENDING, OutboxEmail.claimed_until < now),
    )
    lease = timedelta(seconds=current_app.config["MAIL_CLAIM_LEASE_SECONDS"])
    return claims.claim_due(
        OutboxEmail,
        due=due,
        claim={"status": OutboxStatus.SENDING, "claimed_until": now + lease},
        limit=limit,
        # The stored wire message is what goes out; the parts it was built from are read only for a row
        # queued before messages were stored.
        options=[defer(OutboxEmail.body_text), defer(OutboxEmail.body_html)],
    )


def _connect() -> smtplib.SMTP:
    cfg = current_app.config
    smtp_class = smtplib.SMTP_SSL if cfg["MAIL_USE_SSL"] else smtplib.SMTP
    smtp = smtp_class(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT_SECONDS"])
    if cfg["MAIL_USE_TLS"]:
        smtp.starttls()
    if cfg["MAIL_USERNAME"] and cfg["MAIL_PASSWORD"]:
        smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
    return smtp


def _mark_retry(row: OutboxEmail, error: str, now: datetime) -> bool:
    """Schedule another attempt with exponential backoff; False when attempts are used up."""
    row.attempts += 1
    row.last_error = error[:500]
    row.claimed_until = None
    if row.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
        _mark_failed(row, f"gave up after {row.attempts} attempts: {error}")
        return False
    row.next_attempt_at = now + claims.backoff(
        attempts=row.attempts, base_seconds=current_app.config["MAIL_RETRY_BASE_SECONDS"]
    )
    row.status = OutboxStatus.QUEUED
    return True


def _mark_failed(row: OutboxEmail, error: str) -> None:
    row.status = OutboxStatus.FAILED
    row.last_error = error[:500]
    row.claimed_until = None
    message_failed_for_good(row)


def _release(rows: list[OutboxEmail]) -> None:
    """Give back rows this batch did not try: due again at once, no attempt counted."""
    for row in rows:
        row.status = OutboxStatus.QUEUED
        row.claimed_until = None


Refusal = smtplib.SMTPRecipientsRefused | smtplib.SMTPResponseException


def _refusal(exc: Refusal) -> tuple[int, str]:
    """The SMTP code and text of the server's refusal of this one message."""
    answer: bytes | str
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, answer = next(iter(exc.recipients.values()))
    else:
        code, answer = exc.smtp_code, exc.smtp_error
    return code, answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)


def _record_outcome(row: OutboxEmail, exc: Refusal, report: DeliveryReport, now: datetime) -> None:
    code, text = _refusal(exc)
    if 500 <= code < 600:
        _mark_failed(row, f"{code} {text}")
        report.failed += 1
    elif _mark_retry(row, f"{code} {text}", now):
        report.retried += 1
    else:
        report.failed += 1


def _wire_message(row: OutboxEmail) -> tuple[bytes, str] | tuple[None, str]:
    """The bytes to send and the recipient as the envelope writes it, or None and why the row can never
    be sent. A stored wire message was built by queue_email for an address the policy kept; a row
    queued before messages were stored is checked against the policy here."""
    if row.wire_message is None:
        problem = unsendable_reason(row.to_address)
        if problem is not None:
            return None, problem
    try:
        recipient = wire_address(row.to_address)
        return row.wire_message or wire_bytes(row), recipient
    except (UnicodeError, ValueError) as exc:
        return None, f"the message cannot be built: {exc}"


def deliver_due(*, now: datetime | None = None, should_stop: Callable[[], bool] | None = None) -> DeliveryReport:
    """Send one batch of due messages; each row is committed as soon as the server answers for it.
    `should_stop` is asked before each message: once it says so, the rest of the batch is handed back."""
    if not current_app.config.get("MAIL_SERVER"):
        raise MailNotConfigured("MAIL_SERVER is not set")
    # The claimed rows belong to this sender until their lease runs out: no need to reload each of
    # them after every commit.
    session = db.session()
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    try:
        return _deliver_batch(now or utcnow(), should_stop or (lambda: False))
    finally:
        session.expire_on_commit = expire_on_commit


def _deliver_batch(now: datetime, should_stop: Callable[[], bool]) -> DeliveryReport:
    rows = claim_due(limit=current_app.config["MAIL_BATCH_SIZE"], now=now)
    report = DeliveryReport(claimed=len(rows))
    if not rows:
        return report
    try:
        smtp = _connect()
    except (OSError, smtplib.SMTPException) as exc:
        with unit_of_work():
            for row in rows:
                report.retried += _mark_retry(row, f"connection failed: {exc}", now)
                report.failed += row.status == OutboxStatus.FAILED
        return report
    try:
        with sent_marks(timeout=current_app.config["MAIL_TIMEOUT_SECONDS"]) as marks:
            for index, row in enumerate(rows):
                if should_stop():
                    with unit_of_work():
                        _release(rows[index:])  # untried: due again at once, for this or another sender
                    break
                message, recipient = _wire_message(row)
                if message is None:
                    # Never sendable (an address kept from before the address policy): this row fails on
                    # its own and the batch goes on.
                    with unit_of_work():
                        _mark_failed(row, recipient)
                    report.failed += 1
                    continue
                return_path = envelope_sender(row)  # this attempt's: BOUNCE_ADDRESS may have changed since queueing
                try:
                    smtp.sendmail(return_path, [recipient], message)
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as exc:
                    with unit_of_work():
                        _record_outcome(row, exc, report, now)
                except (OSError, smtplib.SMTPException) as exc:
                    # The connection is gone or in an unknown state: retry this row later and hand
                    # back the rest of the batch untouched.
                    with unit_of_work():
                        report.retried += _mark_retry(row, f"connection lost: {exc}", now)
                        report.failed += row.status == OutboxStatus.FAILED
                        _release(rows[index + 1 :])
                    break
                else:
                    marks.mark(row, return_path=return_path)
                    report.sent += 1
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            smtp.quit()  # the server has what it accepted; a failed goodbye changes nothing
    return report
