"""VERP: each message's envelope sender names its outbox row, signed, so that a delivery report
(sent to the envelope sender) says which message failed and cannot be forged.

With BOUNCE_ADDRESS = bounces@refs.example.org, outbox row 42 goes out with
MAIL FROM:<bounces+42-<signature>@refs.example.org>; the signature is a truncated HMAC-SHA256 of the
id under a key derived from SECRET_KEY for this purpose only (refportal.mail.signatures; older keys in
SECRET_KEY_FALLBACKS are still accepted). Without BOUNCE_ADDRESS the envelope sender is the address of
MAIL_DEFAULT_SENDER, as before. The sender records the envelope sender it used on the row when it marks
the row sent (OutboxEmail.return_path).
"""

from __future__ import annotations

import enum
import functools
import re
from email.utils import parseaddr

from flask import current_app

from refportal.mail import signatures


class VerpCheck(enum.Enum):
    NONE = "none"  # not one of our VERP addresses
    VALID = "valid"
    FORGED = "forged"  # our pattern, a wrong signature


def _split(address: str) -> tuple[str, str]:
    local, _, domain = address.strip().rpartition("@")
    return local, domain


def bounce_address(outbox_id: int) -> str | None:
    """The signed VERP address for this row, or None without BOUNCE_ADDRESS."""
    base = current_app.config.get("BOUNCE_ADDRESS")
    if not base:
        return None
    local, domain = _split(base)
    return f"{local}+{outbox_id}-{signatures.sign(signatures.VERP, outbox_id)}@{domain}"


def envelope_sender(outbox_id: int) -> str:
    """SMTP MAIL FROM for outbox row `outbox_id`, a bare address (the header From is always
    MAIL_DEFAULT_SENDER)."""
    return bounce_address(outbox_id) or _bare_address(current_app.config["MAIL_DEFAULT_SENDER"])


@functools.lru_cache(maxsize=8)
def _bare_address(sender: str) -> str:
    """`Portal <portal@example.org>` → `portal@example.org` (parsed once, not for every message)."""
    return parseaddr(sender)[1] or sender


def is_verp_address_of(address: str | None, outbox_id: int) -> bool:
    """Whether `address` has the form of a VERP address of row `outbox_id` (`…+<id>-<signature>@…`),
    whatever BOUNCE_ADDRESS says now: how a recorded return path tells that a row went out with VERP."""
    return bool(address) and re.fullmatch(rf".*\+{outbox_id}-[0-9a-f]+@.+", address or "", re.IGNORECASE) is not None


def check_verp(address: str) -> tuple[VerpCheck, int | None]:
    """Whether `address` is one of our VERP addresses, and whose (the outbox id) when signed right."""
    base = current_app.config.get("BOUNCE_ADDRESS")
    if not base or not address:
        return VerpCheck.NONE, None
    local, domain = _split(base)
    pattern = re.compile(rf"{re.escape(local)}\+(\d{{1,18}})-([0-9a-fA-F]+)@{re.escape(domain)}", re.IGNORECASE)
    match = pattern.fullmatch(address.strip().strip("<>").strip())
    if match is None:
        return VerpCheck.NONE, None
    outbox_id = int(match.group(1))
    if signatures.verify(signatures.VERP, outbox_id, match.group(2)):
        return VerpCheck.VALID, outbox_id
    return VerpCheck.FORGED, None
