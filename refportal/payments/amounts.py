"""Amounts as staff type them and as the exports write them: currency units as text ("25.00") ↔
integer cents, exactly (Decimal, never a float)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from refportal.exceptions import Refused

# The largest amount staff may type: 100,000.00 in the account's currency.
MAX_AMOUNT_CENTS = 10_000_000
THOUSANDS = re.compile(r"-?[1-9][0-9]{0,2}(,[0-9]{3})+(\.[0-9]*)?")  # 1,250.00; never 0,500 (a decimal comma)


def amount_in_cents(text: str | None, *, field: str = "amount") -> int:
    """An amount typed in currency units ("25", "25.5", "1,250.00") as exact integer cents, or a refusal
    saying what is wrong: not a number, zero or negative, more than two decimals, above the cap."""
    raw = (text or "").strip()
    if not raw:
        raise Refused("Enter the amount, e.g. 25.00.", field=field)
    if raw.startswith("+"):
        raise Refused("Enter the amount without a sign, e.g. 25.00.", field=field)
    if "," in raw:  # only as thousands separators: 1,250.00
        if not THOUSANDS.fullmatch(raw):
            raise Refused("Enter the amount as a number, e.g. 25.00.", field=field)
        raw = raw.replace(",", "")
    if len(raw) > 20 or not all(ch.isascii() and (ch.isdigit() or ch in ".-") for ch in raw):
        raise Refused("Enter the amount as a number, e.g. 25.00.", field=field)
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise Refused("Enter the amount as a number, e.g. 25.00.", field=field) from None
    if not amount.is_finite():
        raise Refused("Enter the amount as a number, e.g. 25.00.", field=field)
    if amount <= 0:
        raise Refused("The amount must be more than zero.", field=field)
    if amount != amount.quantize(Decimal("0.01")):
        raise Refused("Give the amount with at most two decimals (cents).", field=field)
    if amount * 100 > MAX_AMOUNT_CENTS:
        raise Refused(f"The amount is too large (at most {MAX_AMOUNT_CENTS // 100:,}).", field=field)
    return int(amount * 100)


def units(amount_cents: int) -> str:
    """Cents as decimal currency units without a symbol: 2500 → "25.00" (the CSV exports)."""
    sign = "-" if amount_cents < 0 else ""
    whole, part = divmod(abs(amount_cents), 100)
    return f"{sign}{whole}.{part:02d}"
