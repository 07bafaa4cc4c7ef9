"""Short HMAC signatures of outbox ids, one key per purpose, so that what a delivery report quotes back
(the VERP return path, the Message-ID) can name a message without being guessable.

The key is derived from SECRET_KEY for the purpose only (itsdangerous' HMAC key derivation, with the
purpose as salt); a signature made under an older key in SECRET_KEY_FALLBACKS still verifies.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from flask import current_app
from itsdangerous import Signer

LENGTH = 20  # hex digits: 80 bits

# One salt per purpose: a VERP signature is no Message-ID signature, and the other way round.
VERP = "bounce-address"
MESSAGE_ID = "message-id"


def _keys(purpose: str) -> list[bytes]:
    """Derived keys, the current one first."""
    cfg = current_app.config
    secrets = [cfg["SECRET_KEY"], *(cfg.get("SECRET_KEY_FALLBACKS") or [])]
    return [_derived_key(secret, purpose) for secret in secrets if secret]


@functools.lru_cache(maxsize=32)
def _derived_key(secret: str | bytes, purpose: str) -> bytes:
    """Derived once per secret and purpose, not once per message (the sender signs every row)."""
    return Signer(secret, salt=purpose, key_derivation="hmac", digest_method=hashlib.sha256).derive_key()


def _signature(outbox_id: int, key: bytes) -> str:
    return hmac.new(key, str(outbox_id).encode(), hashlib.sha256).hexdigest()[:LENGTH]


def sign(purpose: str, outbox_id: int) -> str:
    """The signature of `outbox_id` for `purpose` under the current key."""
    return _signature(outbox_id, _keys(purpose)[0])


def verify(purpose: str, outbox_id: int, given: str) -> bool:
    """Whether `given` is the signature of `outbox_id` for `purpose` under any of the keys."""
    valid = False
    for key in _keys(purpose):  # every key compared, in constant time
        valid |= hmac.compare_digest(_signature(outbox_id, key).encode(), given.lower().encode(errors="replace"))
    return valid
