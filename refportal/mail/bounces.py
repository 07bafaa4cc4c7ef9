"""Delivery reports that arrive after a server accepted a message: one parser, one service.

`read_bounce_report(raw)` decides what a raw RFC 822 report is (a permanent failure, a delay, or
nothing to act on: an auto-reply, a success notice, junk) and which outbox row it is about. A report
names a row in one of two ways, and only these:
- our signed VERP address of the row (refportal.mail.verp) in the report's recipient headers or the
  returned original's Return-Path; or
- for a row that was sent without a VERP return path (its recorded return_path is not its VERP
  address), the row's signed Message-ID (`<outbox-N.<signature>@host>`, refportal.mail.wire) together
  with the row's address among the failed recipients.
Message-IDs are signed so that they cannot be guessed, and a row sent with VERP never answers to its
Message-ID: only a report that came back through its VERP address can bounce it. A report naming
several of our messages (two VERP addresses, or two Message-IDs), or any of our addresses or
Message-IDs with a wrong signature, names none. Parsing never raises; looking the row up may (the
database's errors are the caller's to handle).

`record_bounce_report(raw, source=...)` applies the verdict inside the caller's transaction (never
commits): a permanent failure marks the row bounced and goes the same way as an SMTP 5xx
(refportal.mail.services.message_failed_for_good: the reference is bounced, the applicant told once);
a delay is recorded on the row; each report acted on leaves an audit event. What it stores of the
report is cleaned of control characters (NUL among them, which PostgreSQL text cannot hold). Both
intakes (the webhook, refportal.mail.hooks, and the IMAP poll, refportal.mail.imap) call it, and both
ask `report_at_fault(exc)` whether a failure is worth trying again.
"""

from __future__ import annotations

import email
import email.header
import email.policy
import logging
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser, HeaderParser
from email.utils import getaddresses, parseaddr

from flufl.bounce import all_failures
from flufl.bounce._detectors.simplewarning import SimpleWarning  # the detector, not exported
from sqlalchemy import exc as sa_exc

from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import utcnow
from refportal.extensions import db
from refportal.mail import signatures
from refportal.mail.models import OutboxEmail, OutboxStatus
from refportal.mail.verp import VerpCheck, check_verp, is_verp_address_of
from refportal.mail.wire import message_id_domain
from refportal.security.redaction import without_secrets

log = logging.getLogger(__name__)

PERMANENT, TRANSIENT, IGNORE = "permanent", "transient", "ignore"
REASON_LENGTH = 500
LARGEST_ID = 2**31 - 1  # the outbox id column's range (PostgreSQL integer): beyond it, no row
RECIPIENT_HEADERS = ("to", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to")
AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?(reply|response)|autoreply|abwesenheit|"
    r"respuesta autom[aá]tica|r[ée]ponse automatique|on vacation|away from)",
    re.IGNORECASE,
)
MAIL_SYSTEM = re.compile(r"^(mailer-daemon|mail-daemon|mailer_daemon|postmaster|mdaemon)@", re.IGNORECASE)
STATUS_CODE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
SMTP_REPLY = re.compile(r"\b([45]\d\d)[ -]")
# What a text column cannot hold or should not: C0 and C1 controls (NUL among them), lone surrogates.
UNSTORABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclass
class BounceVerdict:
    kind: str  # PERMANENT, TRANSIENT or IGNORE
    outbox_id: int | None = None
    recipients: set[str] = field(default_factory=set)
    reason: str = ""  # DSN status and diagnostic, trimmed
    note: str = ""  # how it was matched, or why it is ignored (for the log)


@dataclass
class _Block:
    action: str
    status: str
    diagnostic: str
    recipient: str


def _text(value: object) -> str:
    """A header value as text, whatever its encoding (non-UTF-8 bytes survive as replacement characters)."""
    if value is None:
        return ""
    if isinstance(value, email.header.Header):
        # compat32 hands raw 8-bit header bytes back as a Header of charset unknown-8bit: mostly UTF-8.
        return b"".join(part for part, _ in email.header.decode_header(value) if isinstance(part, bytes)).decode(
            "utf-8", "replace"
        )
    try:
        return str(email.header.make_header(email.header.decode_header(str(value))))
    except Exception:
        return str(value).encode("utf-8", "replace").decode("utf-8", "replace")


def _one_line(text: str) -> str:
    """One line of storable text: controls become spaces, runs of spaces one."""
    return " ".join(UNSTORABLE.sub(" ", text).split())


def _address(field_value: str) -> str:
    """`rfc822; a@b` or `<a@b>` → a@b, lower-cased."""
    value = field_value.split(";", 1)[-1] if ";" in field_value else field_value
    return parseaddr(value.strip())[1].strip().lower() or value.strip().strip("<>").lower()


def _delivery_status_blocks(msg: Message) -> list[_Block] | None:
    """The per-recipient blocks of the report's message/delivery-status part, or None if it has none."""
    blocks: list[_Block] | None = None
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = blocks or []
        payload = part.get_payload()
        encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
        if isinstance(payload, list) and encoding != "base64":
            headers = [p for p in payload if isinstance(p, Message)]
        else:  # encoded: decode it and split it into its header blocks ourselves
            if isinstance(payload, list):
                # compat32 parses base64 text as header blocks all the same: put it back together (the
                # decoder skips the line breaks this adds).
                carrier = Message()
                carrier["Content-Transfer-Encoding"] = encoding
                carrier.set_payload("\n\n".join(p.as_string() for p in payload if isinstance(p, Message)))
                part = carrier
            raw = part.get_payload(decode=True)
            text = (raw if isinstance(raw, bytes) else b"").decode("utf-8", "replace").replace("\r\n", "\n")
            headers = [HeaderParser().parsestr(chunk) for chunk in re.split(r"\n\s*\n", text) if chunk.strip()]
        for block in headers:
            recipient = block.get("final-recipient") or block.get("original-recipient") or ""
            if not recipient and not block.get("action"):
                continue  # the per-message block
            blocks.append(
                _Block(
                    action=_text(block.get("action", "")).strip().lower(),
                    status=_text(block.get("status", "")).strip(),
                    diagnostic=_one_line(_text(block.get("diagnostic-code", ""))),
                    recipient=_address(_text(recipient)),
                )
            )
    return blocks


def _from_a_mail_system(msg: Message) -> bool:
    """Mail servers' own reports carry Auto-Submitted: auto-replied too; a person's auto-reply does
    not come from the mailer daemon nor name failed recipients."""
    sender = parseaddr(_text(msg.get("from", "")))[1].lower()
    return msg.get("x-failed-recipients") is not None or bool(MAIL_SYSTEM.match(sender))


def _is_auto_reply(msg: Message) -> bool:
    auto_submitted = _text(msg.get("auto-submitted", "")).strip().lower()
    precedence = _text(msg.get("precedence", "")).strip().lower()
    return (
        msg.get("x-autoreply") is not None
        or msg.get("x-autorespond") is not None
        or precedence == "auto_reply"
        or bool(AUTO_REPLY_SUBJECT.match(_text(msg.get("subject", ""))))
        or (auto_submitted.startswith("auto-replied") and not _from_a_mail_system(msg))
    )


def _leaf_texts(msg: Message) -> list[str]:
    """Every header block and every decoded leaf part, as text (for Message-IDs and diagnostics)."""
    texts = []
    for part in msg.walk():
        texts.append("\n".join(f"{k}: {_text(v)}" for k, v in part.items()))
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(payload.decode("utf-8", "replace"))
    return texts


def _original_headers(msg: Message) -> list[Message]:
    """The original message's headers as returned inside the report (message/rfc822 or text/rfc822-headers)."""
    found: list[Message] = []
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822" and part.is_multipart():
            found.extend(p for p in part.get_payload() if isinstance(p, Message))
        elif kind == "text/rfc822-headers":
            raw = part.get_payload(decode=True)
            found.append(BytesHeaderParser().parsebytes(raw.lstrip() if isinstance(raw, bytes) else b""))
    return found


def _verp_candidates(msg: Message) -> list[str]:
    addresses = []
    for name in RECIPIENT_HEADERS:
        addresses += [a for _, a in getaddresses([_text(v) for v in msg.get_all(name, [])])]
    for original in _original_headers(msg):
        addresses += [a for _, a in getaddresses([_text(v) for v in original.get_all("return-path", [])])]
    return addresses


def _diagnostic_from_text(texts: list[str]) -> str:
    """For reports without a delivery-status part: the first line carrying a status code or SMTP reply."""
    for text in texts:
        for line in text.splitlines():
            if STATUS_CODE.search(line) or SMTP_REPLY.search(line):
                return _one_line(line)
    return ""


def _classify(msg: Message) -> BounceVerdict:
    """Permanent, transient or ignore, with the failed recipients and the reason (no outbox yet)."""
    blocks = _delivery_status_blocks(msg)
    if blocks is not None:
        failed = [
            b
            for b in blocks
            if b.action.startswith(("fail", "error"))
            or (b.status.startswith("5") and not b.action.startswith(("deliver", "relay", "expand")))
        ]
        delayed = [
            b
            for b in blocks
            if b not in failed
            and (
                b.action.startswith("delay")
                or (b.status.startswith("4") and not b.action.startswith(("deliver", "relay", "expand")))
            )
        ]
        for kind, chosen in ((PERMANENT, failed), (TRANSIENT, delayed)):
            if chosen:
                reason = "; ".join(_one_line(f"{b.status} {b.diagnostic}") for b in chosen)
                return BounceVerdict(kind, recipients={b.recipient for b in chosen if b.recipient}, reason=reason)
        if blocks:
            return BounceVerdict(IGNORE, note="a delivery report without failures (delivered, relayed)")
    if _is_auto_reply(msg):
        return BounceVerdict(IGNORE, note="an auto-reply")
    # Not RFC 3464: flufl.bounce's detectors for the formats of Exim, qmail, Exchange, Yahoo, ...
    temporary, permanent = all_failures(msg)
    texts = _leaf_texts(msg)
    # flufl.bounce stops at the first detector that finds anything, and its generic SimpleMatch runs
    # before SimpleWarning: a delay warning (Exim's, say) comes back as a permanent failure. A report
    # that is a known warning, or whose only reply codes are 4xx, is a delay.
    warned = SimpleWarning().process(msg)[0]
    if permanent and ((warned and permanent <= warned) or _only_transient_codes(texts)):
        temporary, permanent = temporary | permanent, frozenset()
    if permanent:
        return BounceVerdict(
            PERMANENT, recipients={a.decode("ascii").lower() for a in permanent}, reason=_diagnostic_from_text(texts)
        )
    if temporary:
        return BounceVerdict(
            TRANSIENT, recipients={a.decode("ascii").lower() for a in temporary}, reason=_diagnostic_from_text(texts)
        )
    return BounceVerdict(IGNORE, note="not a delivery report")


def _only_transient_codes(texts: list[str]) -> bool:
    codes = {m.group(1)[0] for text in texts for m in SMTP_REPLY.finditer(text)}
    codes |= {m.group(1) for text in texts for m in STATUS_CODE.finditer(text)}
    return "4" in codes and "5" not in codes


@dataclass
class _Names:
    """Which of our messages a report names, and whether it names any with a wrong signature."""

    verp_ids: set[int] = field(default_factory=set)
    forged_verp: bool = False
    message_ids: set[int] = field(default_factory=set)
    forged_message_id: bool = False


def _names(msg: Message) -> _Names:
    names = _Names()
    for address in _verp_candidates(msg):
        check, outbox_id = check_verp(address)
        if check is VerpCheck.VALID and outbox_id is not None:
            names.verp_ids.add(outbox_id)
        names.forged_verp |= check is VerpCheck.FORGED
    # Signed Message-IDs only: the unsigned `<outbox-N@host>` of older messages names nothing.
    domain = re.escape(message_id_domain())
    pattern = re.compile(rf"<outbox-(\d{{1,18}})\.([0-9a-f]{{1,64}})@{domain}>", re.IGNORECASE)
    for text in _leaf_texts(msg):
        for number, signature in pattern.findall(text):
            if signatures.verify(signatures.MESSAGE_ID, int(number), signature):
                names.message_ids.add(int(number))
            else:
                names.forged_message_id = True
    return names


def _ignored(verdict: BounceVerdict, why: str) -> BounceVerdict:
    return BounceVerdict(IGNORE, note=f"a {verdict.kind} failure {why}")


def _match(verdict: BounceVerdict, names: _Names) -> BounceVerdict:
    """The one row the report is about, by the rules in the module's docstring, or IGNORE."""
    if len(names.verp_ids) > 1:
        return _ignored(verdict, "naming several of our messages by VERP address")
    if names.verp_ids:
        verdict.outbox_id, verdict.note = names.verp_ids.pop(), "matched by its VERP address"
        return verdict
    if names.forged_verp:
        return BounceVerdict(IGNORE, note="a VERP address with a wrong signature")
    if names.forged_message_id:
        return BounceVerdict(IGNORE, note="a Message-ID of ours with a wrong signature")
    if len(names.message_ids) > 1:
        return _ignored(verdict, "naming several of our messages by Message-ID")
    if not names.message_ids:
        return _ignored(verdict, "about no message of ours")
    row = _row(names.message_ids.pop())
    if row is None:
        return _ignored(verdict, "about an outbox message that no longer exists")
    if row.status != OutboxStatus.SENT or row.return_path is None:
        # Queued, failed before sending, or sent before return paths were recorded (then with the
        # unsigned Message-ID anyway).
        return _ignored(verdict, "by Message-ID about a message not known to have been sent without VERP")
    if is_verp_address_of(row.return_path, row.id):
        return _ignored(verdict, "by Message-ID about a message sent with VERP: only its VERP address counts")
    if row.to_address.lower() not in verdict.recipients:
        return _ignored(verdict, "by Message-ID whose failed recipients are not the message's")
    verdict.outbox_id, verdict.note = row.id, "matched by Message-ID and recipient"
    return verdict


def _row(outbox_id: int | None) -> OutboxEmail | None:
    return db.session.get(OutboxEmail, outbox_id) if outbox_id is not None and 0 < outbox_id <= LARGEST_ID else None


def read_bounce_report(raw: bytes) -> BounceVerdict:
    """What a raw report says and which outbox row it is about; IGNORE for anything unusable.
    Parsing never raises; a database error while looking the row up does."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        verdict = _classify(msg)
        if verdict.kind == IGNORE:
            return verdict
        names = _names(msg)
    except Exception as exc:  # malformed MIME and the like: never an error out of the parser
        log.warning("bounce report unreadable: %s", type(exc).__name__)
        return BounceVerdict(IGNORE, note=f"unreadable ({type(exc).__name__})")
    return _match(verdict, names)


def report_at_fault(exc: BaseException) -> bool:
    """Whether a report failed to be recorded through its own doing, so that taking it in again would
    fail again: a value the database refuses (DataError, or the driver refusing it before sending it),
    or our code failing on it. A database that is unreachable or not ready (a lost connection, a lock,
    a schema behind the code) is not the report's fault: that report is taken in again later."""
    if isinstance(exc, sa_exc.DataError):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        return False
    # A StatementError that is no DBAPIError wraps what failed before the database saw the statement.
    return isinstance(exc, sa_exc.StatementError) or not isinstance(exc, sa_exc.SQLAlchemyError)


def record_bounce_report(raw: bytes, *, source: str) -> BounceVerdict:
    """Act on one report inside the caller's transaction (never commits); returns what was decided.

    A permanent failure is acted on once per message: a second report, or one about a message the
    SMTP server already refused, changes nothing."""
    from refportal.mail.services import message_failed_for_good

    verdict = read_bounce_report(raw)
    if verdict.kind != IGNORE:
        row = _row(verdict.outbox_id)
        reason = _one_line(verdict.reason or verdict.kind)[:REASON_LENGTH]
        if row is None:
            verdict = BounceVerdict(IGNORE, note="about an outbox message that no longer exists")
        elif row.bounced_at is not None or row.status == OutboxStatus.FAILED:
            verdict = BounceVerdict(IGNORE, outbox_id=row.id, note="about a message already failed")
        elif verdict.kind == PERMANENT:
            row.bounced_at = utcnow()
            row.bounce_reason = reason
            record(
                AuditAction.EMAIL_BOUNCED,
                obj=row,
                source=source,
                reason=without_secrets(reason, known_from=[row.body_text]),
            )
            message_failed_for_good(row)
        else:
            row.delayed_at = utcnow()
            row.delay_reason = reason
            record(
                AuditAction.EMAIL_DELAYED,
                obj=row,
                source=source,
                reason=without_secrets(reason, known_from=[row.body_text]),
            )
    log.info("bounce report from %s: %s, outbox %s (%s)", source, verdict.kind, verdict.outbox_id, verdict.note)
    return verdict
