"""VERP: each message's envelope sender names its outbox row, signed, so that a delivery report
(sent to the envelope sender) says which message failed and cannot be forged.

With BOUNCE_ADDRESS = bounces@refs.example.org, outbox row 42 goes out with
MAIL FROM:<bounces+42-<signature>@refs.example.org>; the signature is a truncated HMAC-SHA256 of the
id under a key derived from SECRET_KEY for this purpose only (older keys in SECRET_KEY_FALLBACKS are
still accepted). Without BOUNCE_ADDRESS the envelope sender is MAIL_DEFAULT_SENDER, as before.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re

from flask import current_app
from itsdangerous import Signer

from refportal.mail.models import OutboxEmail

SALT = "bounce-address"
SIGNATURE_LENGTH = 20  # hex digits: 80 bits


class VerpCheck(enum.Enum):
    NONE = "none"  # not one of our VERP addresses
    VALID = "valid"
    FORGED = "forged"  # our pattern, a wrong signature


def _keys() -> list[bytes]:
    """Derived keys, the current one first."""
    cfg = current_app.config
    secrets = [cfg["SECRET_KEY"], *(cfg.get("SECRET_KEY_FALLBACKS") or [])]
    return [
        Signer(secret, salt=SALT, key_derivation="hmac", digest_method=hashlib.sha256).derive_key()
        for secret in secrets
        if secret
    ]


def _signature(outbox_id: int, key: bytes) -> str:
    return hmac.new(key, str(outbox_id).encode(), hashlib.sha256).hexdigest()[:SIGNATURE_LENGTH]


def _split(address: str) -> tuple[str, str]:
    local, _, domain = address.strip().rpartition("@")
    return local, domain


def bounce_address(outbox_id: int) -> str | None:
    """The signed VERP address for this row, or None without BOUNCE_ADDRESS."""
    base = current_app.config.get("BOUNCE_ADDRESS")
    if not base:
        return None
    local, domain = _split(base)
    return f"{local}+{outbox_id}-{_signature(outbox_id, _keys()[0])}@{domain}"


def envelope_sender(row: OutboxEmail) -> str:
    """SMTP MAIL FROM for this row (the header From is always MAIL_DEFAULT_SENDER)."""
    return bounce_address(row.id) or current_app.config["MAIL_DEFAULT_SENDER"]


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
    outbox_id, given = int(match.group(1)), match.group(2).lower()
    valid = False
    for key in _keys():  # every key compared, in constant time
        valid |= hmac.compare_digest(_signature(outbox_id, key), given)
    return (VerpCheck.VALID, outbox_id) if valid else (VerpCheck.FORGED, None)
