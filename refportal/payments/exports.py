"""The ledger as CSV for the association's accounts: one line per account (its sums), or one line
per ledger row. Written line by line as the rows are read (constant memory), every text cell safe to
open in a spreadsheet (as the registry's and the review queue's exports)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from refportal.payments.ledger import units
from refportal.payments.models import receipt_number
from refportal.payments.outstanding import every_account, every_ledger_row

ACCOUNT_COLUMNS = [
    "account",
    "payer",
    "email",
    "for",
    "currency",
    "charged",
    "paid",
    "waived",
    "refunded",
    "balance",
    "oldest_charge_owed",
]
LEDGER_COLUMNS = [
    "date",
    "account",
    "payer",
    "email",
    "for",
    "currency",
    "type",
    "kind_or_method",
    "reference_or_reason",
    "amount",
    "receipt",
    "voided",
]


def safe_cell(value: object) -> str:
    """A cell a spreadsheet will not run as a formula: text starting with = + - @ (or a tab or a
    carriage return) gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _lines(header: list[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: Sequence[object]) -> str:
        writer.writerow(cells)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(header)
    for row in rows:
        yield line(row)


def accounts_csv() -> Iterator[str]:
    """Every account with a row in its ledger: payer, what for, its sums in currency units."""

    def rows() -> Iterator[list[str]]:
        for row in every_account():
            account, totals = row.account, row.totals
            yield [
                str(account.id),
                safe_cell(account.payer.name),
                safe_cell(account.payer.email),
                safe_cell(account.label),
                account.currency,
                units(totals.charged),
                units(totals.paid),
                units(totals.waived),
                units(totals.refunded),
                units(totals.balance),  # a negative balance is a number, not text: left as it is
                row.oldest_charge.date().isoformat() if row.oldest_charge and totals.balance > 0 else "",
            ]

    return _lines(ACCOUNT_COLUMNS, rows())


def ledger_csv() -> Iterator[str]:
    """Every ledger row in the order it happened: charges, payments (with their receipt number),
    waivers and refunds (with their reason); a voided charge says when it was voided."""

    def rows() -> Iterator[list[str]]:
        for line in every_ledger_row():
            receipt = (
                receipt_number(line.receipt_payment_id, line.receipt_created_at)
                if line.receipt_payment_id is not None and line.receipt_created_at is not None
                else ""
            )
            yield [
                line.at.date().isoformat(),
                str(line.account_id),
                safe_cell(line.payer_name),
                safe_cell(line.payer_email),
                safe_cell(line.label),
                line.currency,
                line.type,
                line.kind,
                safe_cell(line.reference),
                units(line.amount_cents),  # always positive: the type says which way it went
                receipt,
                line.voided_at.date().isoformat() if line.voided_at else "",
            ]

    return _lines(LEDGER_COLUMNS, rows())
