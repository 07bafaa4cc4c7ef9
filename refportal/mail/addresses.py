"""The portal's address policy: which e-mail addresses it takes in, and which it can send to.

The portal sends without SMTPUTF8 (many relays and receiving servers do not offer it), so the part
before the @ must be ASCII. An internationalised domain is fine: it is stored as the person typed it
and goes on the wire in its ASCII form (xn--). Every address the portal may write to enters through
`normalize_email` (forms, the command line); the roster's addresses, only ever compared, through
`canonical_email`. `unsendable_reason` says why an address stored before this policy cannot be sent
to, so that one such message fails on its own instead of stopping the others; `wire_address` is the
form the sender's RCPT command writes."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

ASCII_LOCAL_PART = (
    "Use an address with only unaccented letters, digits and . _ + - before the @: the portal's mail "
    "cannot reach addresses with other characters there."
)


def canonical_email(address: str) -> str:
    """Any valid address in its canonical form (lower case), for matching only: the association's roster
    lists members the portal never writes to. ValueError with a reason a person understands."""
    return _validated(address, allow_smtputf8=True)


def normalize_email(address: str) -> str:
    """An address the portal can send to, in its canonical form (lower case), or ValueError with a
    reason a person understands."""
    address = (address or "").strip()
    if not address.rpartition("@")[0].isascii():
        raise ValueError(ASCII_LOCAL_PART)
    return _validated(address, allow_smtputf8=False)


def _validated(address: str, *, allow_smtputf8: bool) -> str:
    address = (address or "").strip()
    if any(ch in address for ch in "\r\n"):
        raise ValueError("An e-mail address cannot contain a line break.")
    try:
        result = validate_email(address, check_deliverability=False, allow_smtputf8=allow_smtputf8)
    except EmailNotValidError as exc:
        raise ValueError(f"Enter a valid e-mail address ({exc}).") from exc
    return result.normalized.lower()


def wire_address(address: str) -> str:
    """`address` as the SMTP envelope writes it, without SMTPUTF8: ASCII, an internationalised domain in
    its xn-- form. For an address the policy keeps (normalize_email); ValueError otherwise."""
    if address.isascii():
        return address
    if not address.rpartition("@")[0].isascii():
        raise ValueError(ASCII_LOCAL_PART)
    try:  # IDNA 2008, as the policy reads the domain (Python's own codec is IDNA 2003: faß.de → fass.de)
        ascii_email = validate_email(address, check_deliverability=False, allow_smtputf8=False).ascii_email
    except EmailNotValidError as exc:
        raise ValueError(f"Enter a valid e-mail address ({exc}).") from exc
    if ascii_email is None:
        raise ValueError(ASCII_LOCAL_PART)
    return ascii_email


def unsendable_reason(address: str) -> str | None:
    """Why the portal cannot send to a stored address (None: it can)."""
    try:
        normalize_email(address)
    except ValueError as exc:
        return f"the portal cannot send to this address: {exc}"
    return None
