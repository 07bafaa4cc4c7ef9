"""Deliver due outbox rows over one SMTP connection per batch, retrying what may succeed later."""

from __future__ import annotations

import contextlib
import re
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app

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


def claim_due(*, limit: int, now: datetime) -> list[Claimed]:
    """Mark up to `limit` due rows as being sent by this sender, and commit the claim (refportal.claims).
    A row claimed by a sender that died is taken up again once its lease has run out. What comes back is
    what sending reads (the id, the recipient, the stored wire message), not the ORM rows: the rare paths
    that change more than "sent" load their row (_loaded)."""
    due = sa.or_(
        sa.and_(OutboxEmail.status == OutboxStatus.QUEUED, OutboxEmail.next_attempt_at <= now),
        sa.and_(OutboxEmail.status == OutboxStatus.SENDING, OutboxEmail.claimed_until < now),
    )
    lease = timedelta(seconds=current_app.config["MAIL_CLAIM_LEASE_SECONDS"])
    return claims.claim_due_columns(
        OutboxEmail,
        due=due,
        claim={"status": OutboxStatus.SENDING, "claimed_until": now + lease},
        limit=limit,
        columns=(OutboxEmail.id, OutboxEmail.to_address, OutboxEmail.wire_message),
    )  # type: ignore[return-value]  # rows of exactly Claimed's columns


class Claimed(NamedTuple):
    """A claimed outbox row as the sender reads it."""

    id: int
    to_address: str
    wire_message: bytes | None


def _loaded(*ids: int) -> list[OutboxEmail]:
    """The claimed rows as the database has them now (the session may hold an older copy), for a change
    beyond "sent": a retry, a failure, a message built when sent."""
    return list(
        db.session.scalars(
            sa.select(OutboxEmail)
            .where(OutboxEmail.id.in_(ids))
            .order_by(OutboxEmail.id)
            .execution_options(populate_existing=True)
        )
    )


def _connect() -> smtplib.SMTP:
    cfg = current_app.config
    smtp_class = smtplib.SMTP_SSL if cfg["MAIL_USE_SSL"] else smtplib.SMTP
    smtp = smtp_class(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT_SECONDS"])
    if cfg["MAIL_USE_TLS"]:
        smtp.starttls()
    if cfg["MAIL_USERNAME"] and cfg["MAIL_PASSWORD"]:
        smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
    smtp.ehlo_or_helo_if_needed()  # what the server offers (SIZE), asked once per connection
    return smtp


# An address as the portal's own (checked when queued, refportal.mail.addresses; the envelope sender from
# configuration) all are: printable ASCII without spaces or angle brackets. smtplib's quoteaddr makes
# exactly `<address>` of one.
_PLAIN_ADDRESS = re.compile(r"[!-;=?-~]+")


def _envelope_address(address: str) -> str:
    return f"<{address}>" if _PLAIN_ADDRESS.fullmatch(address) else smtplib.quoteaddr(address)


def _transmit(smtp: smtplib.SMTP, return_path: str, recipient: str, message: bytes) -> None:
    """smtplib's sendmail() for one recipient, with the same commands, answers and exceptions, but
    without parsing both addresses again for every message (a quarter of the sender's own time per
    message, measured): MAIL FROM (with SIZE when offered), RCPT TO, DATA; after a refusal the
    transaction is reset (RSET), or the connection closed on 421, as sendmail() does."""
    size = f" SIZE={len(message)}" if smtp.has_extn("size") else ""
    code, answer = smtp.docmd("MAIL", f"FROM:{_envelope_address(return_path)}{size}")
    if code != 250:
        _end_transaction(smtp, code)
        raise smtplib.SMTPSenderRefused(code, answer, return_path)
    code, answer = smtp.docmd("RCPT", f"TO:{_envelope_address(recipient)}")
    if code not in (250, 251):
        _end_transaction(smtp, code)
        raise smtplib.SMTPRecipientsRefused({recipient: (code, answer)})
    code, answer = smtp.data(message)
    if code != 250:
        _end_transaction(smtp, code)
        raise smtplib.SMTPDataError(code, answer)


def _end_transaction(smtp: smtplib.SMTP, code: int) -> None:
    if code == 421:  # the server is closing the connection
        smtp.close()
    else:
        with contextlib.suppress(smtplib.SMTPServerDisconnected):
            smtp.rset()


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


def _release(messages: list[Claimed]) -> None:
    """Give back rows this batch did not try: due again at once, no attempt counted."""
    if messages:
        db.session.execute(
            sa.update(OutboxEmail)
            .where(OutboxEmail.id.in_([message.id for message in messages]))
            .values(status=OutboxStatus.QUEUED, claimed_until=None)
            .execution_options(synchronize_session=False)
        )


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


def _wire_message(message: Claimed) -> tuple[bytes, str] | tuple[None, str]:
    """The bytes to send and the recipient as the envelope writes it, or None and why the row can never
    be sent. A stored wire message was built by queue_email for an address the policy kept; a row
    queued before messages were stored is checked against the policy here and built from its parts."""
    if message.wire_message is None:
        problem = unsendable_reason(message.to_address)
        if problem is not None:
            return None, problem
    try:
        recipient = wire_address(message.to_address)
        return message.wire_message or wire_bytes(_loaded(message.id)[0]), recipient
    except (UnicodeError, ValueError) as exc:
        return None, f"the message cannot be built: {exc}"


def deliver_due(*, now: datetime | None = None, should_stop: Callable[[], bool] | None = None) -> DeliveryReport:
    """Send one batch of due messages; each row is committed as soon as the server answers for it.
    `should_stop` is asked before each message: once it says so, the rest of the batch is handed back."""
    if not current_app.config.get("MAIL_SERVER"):
        raise MailNotConfigured("MAIL_SERVER is not set")
    return _deliver_batch(now or utcnow(), should_stop or (lambda: False))


def _deliver_batch(now: datetime, should_stop: Callable[[], bool]) -> DeliveryReport:
    messages = claim_due(limit=current_app.config["MAIL_BATCH_SIZE"], now=now)
    report = DeliveryReport(claimed=len(messages))
    if not messages:
        return report
    try:
        smtp = _connect()
    except (OSError, smtplib.SMTPException) as exc:
        with unit_of_work():
            for row in _loaded(*(message.id for message in messages)):
                report.retried += _mark_retry(row, f"connection failed: {exc}", now)
                report.failed += row.status == OutboxStatus.FAILED
        return report
    try:
        with sent_marks(timeout=current_app.config["MAIL_TIMEOUT_SECONDS"]) as marks:
            for index, message in enumerate(messages):
                if should_stop():
                    with unit_of_work():
                        _release(messages[index:])  # untried: due again at once, for this or another sender
                    break
                payload, recipient = _wire_message(message)
                if payload is None:
                    # Never sendable (an address kept from before the address policy): this row fails on
                    # its own and the batch goes on.
                    with unit_of_work():
                        _mark_failed(_loaded(message.id)[0], recipient)
                    report.failed += 1
                    continue
                # This attempt's envelope sender: BOUNCE_ADDRESS may have changed since queueing.
                return_path = envelope_sender(message.id)
                try:
                    _transmit(smtp, return_path, recipient, payload)
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as exc:
                    with unit_of_work():
                        _record_outcome(_loaded(message.id)[0], exc, report, now)
                except (OSError, smtplib.SMTPException) as exc:
                    # The connection is gone or in an unknown state: retry this row later and hand
                    # back the rest of the batch untouched.
                    with unit_of_work():
                        [row] = _loaded(message.id)
                        report.retried += _mark_retry(row, f"connection lost: {exc}", now)
                        report.failed += row.status == OutboxStatus.FAILED
                        _release(messages[index + 1 :])
                    break
                else:
                    marks.mark(message.id, return_path=return_path)
                    report.sent += 1
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            smtp.quit()  # the server has what it accepted; a failed goodbye changes nothing
    return report
