"""Delivery reports that arrive after a server accepted a message: one parser, one service.

`read_bounce_report(raw)` decides what a raw RFC 822 report is (a permanent failure, a delay, or
nothing to act on: an auto-reply, a success notice, junk) and which outbox row it is about: first
by our signed VERP address (refportal.mail.verp) in the report's recipient headers or the original's
Return-Path, else by the original Message-ID (`<outbox-N@domain>`) together with a failed recipient
that is the row's address. It never raises.

`record_bounce_report(raw, source=...)` applies the verdict inside the caller's transaction (never
commits): a permanent failure marks the row bounced and goes the same way as an SMTP 5xx
(refportal.mail.services.message_failed_for_good: the reference is bounced, the applicant told once);
a delay is recorded on the row; each report acted on leaves an audit event. Both intakes (the
webhook, refportal.mail.hooks, and the IMAP poll, refportal.mail.imap) call it.
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

import sqlalchemy as sa
from flufl.bounce import all_failures
from flufl.bounce._detectors.simplewarning import SimpleWarning  # the detector, not exported

from refportal.audit.services import record
from refportal.db import utcnow
from refportal.extensions import db
from refportal.mail.models import OutboxEmail, OutboxStatus
from refportal.mail.verp import VerpCheck, check_verp
from refportal.mail.wire import message_id_domain
from refportal.security.redaction import without_secrets

log = logging.getLogger(__name__)

PERMANENT, TRANSIENT, IGNORE = "permanent", "transient", "ignore"
REASON_LENGTH = 500
RECIPIENT_HEADERS = ("to", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to")
AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?(reply|response)|autoreply|abwesenheit|"
    r"respuesta autom[aá]tica|r[ée]ponse automatique|on vacation|away from)",
    re.IGNORECASE,
)
MAIL_SYSTEM = re.compile(r"^(mailer-daemon|mail-daemon|mailer_daemon|postmaster|mdaemon)@", re.IGNORECASE)
STATUS_CODE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
SMTP_REPLY = re.compile(r"\b([45]\d\d)[ -]")


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
    try:
        return str(email.header.make_header(email.header.decode_header(str(value))))
    except Exception:
        return str(value).encode("utf-8", "replace").decode("utf-8", "replace")


def _one_line(text: str) -> str:
    return " ".join(text.split())


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
        if isinstance(payload, list):
            headers = [p for p in payload if isinstance(p, Message)]
        else:  # a string payload (e.g. encoded): split it into its header blocks ourselves
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


def _outbox_ids_by_message_id(msg: Message) -> set[int]:
    domain = re.escape(message_id_domain())
    pattern = re.compile(rf"<outbox-(\d{{1,18}})@{domain}>", re.IGNORECASE)
    return {int(m) for text in _leaf_texts(msg) for m in pattern.findall(text)}


def read_bounce_report(raw: bytes) -> BounceVerdict:
    """What a raw report says and which outbox row it is about; IGNORE for anything unusable."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        verdict = _classify(msg)
        if verdict.kind == IGNORE:
            return verdict
        forged = False
        for address in _verp_candidates(msg):
            check, outbox_id = check_verp(address)
            if check is VerpCheck.VALID:
                verdict.outbox_id, verdict.note = outbox_id, "matched by its VERP address"
                return verdict
            forged |= check is VerpCheck.FORGED
        if forged:
            return BounceVerdict(IGNORE, note="a VERP address with a wrong signature")
        ids = _outbox_ids_by_message_id(msg)
        if ids and verdict.recipients:
            rows = db.session.execute(
                sa.select(OutboxEmail.id, OutboxEmail.to_address).where(OutboxEmail.id.in_(sorted(ids)[:20]))
            ).all()
            matched = [row_id for row_id, to in rows if to.lower() in verdict.recipients]
            if len(matched) == 1:
                verdict.outbox_id, verdict.note = matched[0], "matched by Message-ID and recipient"
                return verdict
        return BounceVerdict(IGNORE, note=f"a {verdict.kind} failure about no message of ours")
    except Exception as exc:  # malformed MIME and the like: never an error out of the parser
        log.warning("bounce report unreadable: %s", type(exc).__name__)
        return BounceVerdict(IGNORE, note=f"unreadable ({type(exc).__name__})")


def record_bounce_report(raw: bytes, *, source: str) -> BounceVerdict:
    """Act on one report inside the caller's transaction (never commits); returns what was decided.

    A permanent failure is acted on once per message: a second report, or one about a message the
    SMTP server already refused, changes nothing."""
    from refportal.mail.services import message_failed_for_good

    verdict = read_bounce_report(raw)
    if verdict.kind != IGNORE:
        row = db.session.get(OutboxEmail, verdict.outbox_id)
        reason = (verdict.reason or verdict.kind)[:REASON_LENGTH]
        if row is None:
            verdict = BounceVerdict(IGNORE, note="about an outbox message that no longer exists")
        elif row.bounced_at is not None or row.status == OutboxStatus.FAILED:
            verdict = BounceVerdict(IGNORE, outbox_id=row.id, note="about a message already failed")
        elif verdict.kind == PERMANENT:
            row.bounced_at = utcnow()
            row.bounce_reason = reason
            record("email.bounced", obj=row, source=source, reason=without_secrets(reason, known_from=[row.body_text]))
            message_failed_for_good(row)
        else:
            row.delayed_at = utcnow()
            row.delay_reason = reason
            record("email.delayed", obj=row, source=source, reason=without_secrets(reason, known_from=[row.body_text]))
    log.info("bounce report from %s: %s, outbox %s (%s)", source, verdict.kind, verdict.outbox_id, verdict.note)
    return verdict
