"""The ledger as CSV for the association's accounts: one line per account (its sums), or one line
per ledger row. Written line by line as the rows of one statement are read (web.csv_download: constant
memory, one consistent snapshot), every text cell safe to open in a spreadsheet (as the registry's and the
review queue's exports)."""

from __future__ import annotations

from collections.abc import Iterator

from refportal.payments.amounts import units
from refportal.payments.models import receipt_number
from refportal.payments.outstanding import AccountRow, LedgerLine, every_account, ledger_rows
from refportal.web import CsvLines, spreadsheet_cell

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


BATCH = 500  # rows fetched at a time


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


def accounts_csv() -> Iterator[str]:
    """Every account with a row in its ledger: payer, what for, its sums in currency units."""
    lines = CsvLines()
    yield lines.line(ACCOUNT_COLUMNS)
    for row in every_account(BATCH):
        yield lines.line(_account_cells(row))


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


def ledger_csv() -> Iterator[str]:
    """Every ledger row in the order it happened: charges, payments (with their receipt number),
    waivers and refunds (with their reason); a voided charge says when it was voided."""
    lines = CsvLines()
    yield lines.line(LEDGER_COLUMNS)
    for line in ledger_rows(BATCH):
        yield lines.line(_ledger_cells(line))
