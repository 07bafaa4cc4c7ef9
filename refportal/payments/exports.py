"""The ledger as CSV for the association's accounts: one line per account (its sums), or one line
per ledger row. Written line by line as the rows are read (constant memory), every text cell safe to
open in a spreadsheet (as the registry's and the review queue's exports)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from refportal.payments.amounts import units
from refportal.payments.models import receipt_number
from refportal.payments.outstanding import AccountRow, LedgerKey, LedgerLine, accounts_after, ledger_rows_after
from refportal.web import spreadsheet_cell

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


BATCH = 500  # rows read per statement


class _Writer:
    """CSV lines one at a time (the exports are sent as they are written)."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")

    def line(self, cells: Sequence[object]) -> str:
        self.writer.writerow(cells)
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


def _account_cells(row: AccountRow) -> list[str]:
    account, totals = row.account, row.totals
    return [
        str(account.id),
        spreadsheet_cell(account.payer.name),
        spreadsheet_cell(account.payer.email),
        spreadsheet_cell(account.label),
        account.currency,
        units(totals.charged),
        units(totals.paid),
        units(totals.waived),
        units(totals.refunded),
        units(totals.balance),  # a negative balance is a number, not a formula: left as it is
        row.oldest_charge.date().isoformat() if row.oldest_charge and totals.balance > 0 else "",
    ]


def accounts_csv(in_context: Callable[[], AbstractContextManager[Any]]) -> Iterator[str]:
    """Every account with a row in its ledger: payer, what for, its sums in currency units. Each batch
    is read inside `in_context()` (an application context) and written after it is left, so nothing
    is held open between the lines sent."""
    writer = _Writer()
    yield writer.line(ACCOUNT_COLUMNS)
    after = 0
    while True:
        with in_context():
            batch = accounts_after(after, BATCH)
            lines = [writer.line(_account_cells(row)) for row in batch]
        yield from lines
        if len(batch) < BATCH:
            return
        after = batch[-1].account.id


def _ledger_cells(line: LedgerLine) -> list[str]:
    receipt = (
        receipt_number(line.receipt_payment_id, line.receipt_created_at)
        if line.receipt_payment_id is not None and line.receipt_created_at is not None
        else ""
    )
    return [
        line.at.date().isoformat(),
        str(line.account_id),
        spreadsheet_cell(line.payer_name),
        spreadsheet_cell(line.payer_email),
        spreadsheet_cell(line.label),
        line.currency,
        line.type,
        line.kind,
        spreadsheet_cell(line.reference),
        units(line.amount_cents),  # always positive: the type says which way it went
        receipt,
        line.voided_at.date().isoformat() if line.voided_at else "",
    ]


def ledger_csv(in_context: Callable[[], AbstractContextManager[Any]]) -> Iterator[str]:
    """Every ledger row in the order it happened: charges, payments (with their receipt number),
    waivers and refunds (with their reason); a voided charge says when it was voided. Read in batches
    as accounts_csv."""
    writer = _Writer()
    yield writer.line(LEDGER_COLUMNS)
    after: LedgerKey | None = None
    while True:
        with in_context():
            batch = ledger_rows_after(after, BATCH)
            lines = [writer.line(_ledger_cells(line)) for _, line in batch]
        yield from lines
        if len(batch) < BATCH:
            return
        after = batch[-1][0]
