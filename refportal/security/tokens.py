"""Every signed token the portal issues: one salt per purpose, SHA-256, an expiry, key rotation."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode

# One salt per purpose: a token made for one purpose never loads for another.
PURPOSES = ("email-verify", "password-reset", "account-invite", "reference-rating", "referee-requests", "api-cursor")


class TokenInvalid(Exception):
    """The token was tampered with, is malformed, or was made for another purpose."""


class TokenExpired(Exception):
    """The token is genuine but older than its max_age; `payload` says whose it was."""

    def __init__(self, payload: dict[str, Any] | None):
        super().__init__("token expired")
        self.payload = payload


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    keys = [*current_app.config.get("SECRET_KEY_FALLBACKS", []), current_app.config["SECRET_KEY"]]
    # itsdangerous signs with the last key and verifies with any of them: rotation.
    return URLSafeTimedSerializer(keys, salt=purpose, signer_kwargs={"digest_method": hashlib.sha256})


def make_token(purpose: str, payload: dict[str, Any], *, issued_at: datetime | None = None) -> str:
    """Sign `payload` for one purpose; the purpose is also written into the payload as `act`.

    With `issued_at` the token carries that time instead of now, so the same payload and time give
    the same link again (a reminder re-sends the invitation's link) and its age counts from then.
    """
    serializer = _serializer(purpose)
    if issued_at is not None:
        timestamp = int(issued_at.timestamp())
        serializer.signer = type("IssuedAtSigner", (TimestampSigner,), {"get_timestamp": lambda self: timestamp})
    return serializer.dumps({**payload, "act": purpose})


def load_token(purpose: str, token: str, max_age: int) -> dict[str, Any]:
    """Verify and return the payload, or raise TokenInvalid / TokenExpired."""
    serializer = _serializer(purpose)
    try:
        payload = serializer.loads(token, max_age=max_age)
    except SignatureExpired as exc:
        # The signature was good, only old: the payload can be trusted to say whose link it was.
        _, expired = serializer.loads_unsafe(token)
        if not isinstance(expired, dict) or expired.get("act") != purpose:
            raise TokenInvalid("token made for another purpose") from exc
        raise TokenExpired(expired) from exc
    except (BadSignature, UnicodeError, ValueError) as exc:
        raise TokenInvalid("invalid token") from exc
    if not isinstance(payload, dict) or payload.get("act") != purpose:
        raise TokenInvalid("token made for another purpose")
    return payload


def fingerprint(value: str) -> str:
    """A short digest of a secret-bearing value, safe to put in a token (e.g. the password hash)."""
    return hashlib.sha256(value.encode()).hexdigest()[:24]


# A token is `payload.timestamp.signature` (a compressed payload starts with one more "."); the signature
# is a SHA-256 HMAC in URL-safe base64, 43 characters.
SIGNATURE_LENGTH = len(base64_encode(hashlib.sha256().digest()))
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_.-]+")
# Every portal payload is a JSON object: `{"` encodes as "eyJ"; compressed, zlib's header as "eJ".
_PAYLOAD_START = re.compile(r"eyJ|eJ")


def _candidates(text: str) -> Iterator[tuple[str, str]]:
    """(signed value, signature) for every way a run of token characters in `text` could hold a token."""
    for run in _TOKEN_RUN.finditer(text):
        parts = run.group().split(".")
        for i in range(len(parts) - 2):
            payload, stamp, signature = parts[i], parts[i + 1], parts[i + 2][:SIGNATURE_LENGTH]
            if not payload or not stamp or len(signature) < SIGNATURE_LENGTH:
                continue
            # Whatever was glued in front of the token (a joined line, a word): try where a payload starts.
            for start in {0, *(m.start() for m in _PAYLOAD_START.finditer(payload))}:
                yield f"{payload[start:]}.{stamp}", signature
                if start == 0 and i > 0 and parts[i - 1] == "":
                    yield f".{payload}.{stamp}", signature


def genuine_tokens(text: str) -> set[str]:
    """Every token in `text` that the portal signed, for any purpose, with SECRET_KEY or a fallback key,
    expired or not (what must never be shown to someone who is not its reader)."""
    signers = [_serializer(purpose).make_signer() for purpose in PURPOSES]
    return {
        f"{value}.{signature}"
        for value, signature in _candidates(text)
        if any(signer.verify_signature(value, signature) for signer in signers)
    }
