"""The fee schedule as applicants see it before opening an application, and each application's fee
account in the ledger (refportal.payments)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import current_app

from refportal.exceptions import Refused
from refportal.payments.charges import find_account, open_account, set_owed
from refportal.payments.ledger import cents, money, owed_for
from refportal.payments.models import DUE_BEFORE_REQUESTS, FeeAccount, FeeKind

if TYPE_CHECKING:
    from refportal.applications.models import Application


@dataclass(frozen=True)
class FeeLine:
    label: str
    amount: int
    waived: bool = False


@dataclass(frozen=True)
class FeeBreakdown:
    currency: str
    lines: tuple[FeeLine, ...]

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines if not line.waived)


def fee_breakdown(
    *, schedule: dict, category: int, membership_fee_due: bool, reinstatement_fee: int | None = None
) -> FeeBreakdown:
    """Membership (waived for a current member), application and processing fees for a category; a
    reinstatement owes its own fee (`reinstatement_fee`) instead of the application fee."""
    first = (
        FeeLine("Application fee", schedule["application"][category])
        if reinstatement_fee is None
        else FeeLine("Reinstatement fee", reinstatement_fee)
    )
    return FeeBreakdown(
        currency=schedule.get("currency", "USD"),
        lines=(
            FeeLine("Membership in the association", schedule["membership"][category], waived=not membership_fee_due),
            first,
            FeeLine("Processing fee", schedule["processing"][category]),
        ),
    )


# The application's ledger (refportal.payments): its charges posted from the schedule on first need.


def application_account(
    application: Application, *, membership_fee_due: bool | None = None, actor: Any = None
) -> FeeAccount | None:
    """The application's fee account, its charges posted while it can still change: the application
    and processing fees (a reinstatement: the processing and reinstatement fees), and the membership
    fee as `membership_fee_due` says (None: left as it is). Once submitted, what was posted stays."""
    if not application.is_editable:
        return find_account(application_id=application.id)
    config = current_app.config
    schedule = config["FEE_SCHEDULE"]
    account = open_account(
        payer_id=application.applicant_id,
        application_id=application.id,
        label=f"Application {application.id}: {application.credential.short}, {application.category_name}",
        currency=fee_currency(),
    )
    category = application.category
    if application.is_reinstatement:
        set_owed(account, FeeKind.REINSTATEMENT, cents(config["ENDORSEMENT_REINSTATEMENT_FEE"]), actor=actor)
    else:
        set_owed(account, FeeKind.APPLICATION, cents(schedule["application"][category]), actor=actor)
    set_owed(account, FeeKind.PROCESSING, cents(schedule["processing"][category]), actor=actor)
    if membership_fee_due is not None:
        set_owed(
            account, FeeKind.MEMBERSHIP, cents(schedule["membership"][category]), owed=membership_fee_due, actor=actor
        )
    return account


def fee_currency() -> str:
    return current_app.config["FEE_SCHEDULE"].get("currency", "USD").upper()


def application_fee_due_at_opening() -> bool:
    """Whether the application fee must be paid before the referee requests go out (else at submission)."""
    return current_app.config["FEE_APPLICATION_FEE_DUE"] == "opening"


def fee_owed_before_requests(application: Application) -> int:
    """Cents of the application (or reinstatement) fee still to pay before the referee requests are
    sent; 0 when nothing is due then."""
    if not application_fee_due_at_opening():
        return 0
    account = application_account(application)
    if account is None:
        return 0
    return owed_for(account, DUE_BEFORE_REQUESTS)


def require_fee_before_requests(application: Application) -> None:
    """Refused while the fee due before the referee requests is unpaid (sending the requests, asking a
    referee to reuse a rating: every way a request goes out)."""
    unpaid = fee_owed_before_requests(application)
    if unpaid:
        raise Refused(
            f"The application fee is due before the requests are sent: {money(unpaid, fee_currency())} is still "
            "to pay. Pay it from the Fees section of the application page, then send the requests."
        )
