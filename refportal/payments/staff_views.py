"""Staff's fee pages (administrators: association staff, as the renewals and the roster): the
outstanding balances at /staff/fees and their CSV exports, one account's ledger with a payment
received, a waiver and a refund; and the printable receipt of a payment (its payer or an
administrator) at /fees/receipts/<id>."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from refportal.accounts.models import Role, User
from refportal.accounts.permissions import role_required
from refportal.db import database_id, utc_today
from refportal.extensions import db
from refportal.payments import exports, outstanding, receipts, services
from refportal.payments.amounts import amount_in_cents
from refportal.payments.charges import account_rows
from refportal.payments.ledger import money, totals_of
from refportal.payments.models import FeeAccount, PaymentMethod, WaiverKind
from refportal.payments.staff_forms import FeesFilterForm, PaymentForm, RefundForm, WaiverForm
from refportal.security.headers import mark_no_store
from refportal.transactions import attempt
from refportal.web import csv_download, filter_args, flash_success, show_refusal

bp = Blueprint("payments_staff", __name__)
STAFF = (Role.ADMIN,)


@bp.after_request
def _private(response: Response) -> Response:
    return mark_no_store(response)


# ---------------------------------------------------------------------------------------------
# The outstanding balances and the exports


@bp.get("/staff/fees")
@role_required(*STAFF)
def outstanding_list():
    """Accounts with a balance owed (or in credit, or all with activity), the oldest charge first, paged."""
    form = FeesFilterForm(request.args)
    form.validate()

    def value(name: str) -> Any:
        field = getattr(form, name)
        return None if field.errors else field.data

    filters = outstanding.Filters(balance=value("balance") or "owed", kind=value("kind") or "")
    page = outstanding.accounts_page(
        filters,
        page=value("page") or 1,
        per_page=current_app.config["QUEUE_PAGE_SIZE"],
        count_limit=current_app.config["QUEUE_COUNT_LIMIT"],
    )
    args = filter_args(form)
    return render_template("payments/staff_fees.html", form=form, queue=page, args=args, filters=filters, money=money)


@bp.get("/staff/fees.csv")
@role_required(*STAFF)
def accounts_export():
    """Every account with activity, one line each: payer, what for, charged, paid, waived, refunded, balance."""
    return csv_download(exports.accounts_csv(), f"fees-{utc_today().isoformat()}.csv")


@bp.get("/staff/fees/ledger.csv")
@role_required(*STAFF)
def ledger_export():
    """Every ledger row (charges, payments, waivers, refunds) in the order it happened."""
    return csv_download(exports.ledger_csv(), f"fee-ledger-{utc_today().isoformat()}.csv")


# ---------------------------------------------------------------------------------------------
# One account


def _account_or_404(account_id: int) -> FeeAccount:
    account = db.session.scalar(
        sa.select(FeeAccount)
        .where(FeeAccount.id == account_id)
        .options(*account_rows())
        .execution_options(populate_existing=True)
    )
    if account is None:
        abort(404)
    return account


def _names(account: FeeAccount) -> dict[int, str]:
    """The staff who recorded, waived and refunded on this account, by id (one statement)."""
    ids = {p.recorded_by_id for p in account.payments} | {w.granted_by_id for w in account.waivers}
    ids |= {r.refunded_by_id for p in account.payments for r in p.refunds}
    ids.discard(None)
    if not ids:
        return {}
    return {
        user_id: name for user_id, name in db.session.execute(sa.select(User.id, User.name).where(User.id.in_(ids)))
    }


def _refund_form(account: FeeAccount, form: RefundForm | None = None) -> RefundForm:
    form = form or RefundForm(prefix="refund")
    form.payment.choices = [("", "Choose a payment")] + [
        (
            str(p.id),
            f"{p.receipt_number}: {p.method.label}, {money(p.amount_cents, p.currency)}"
            + (f" ({money(p.refundable_cents, p.currency)} refundable)" if p.refunded_cents else ""),
        )
        for p in account.payments
        if p.refundable_cents > 0
    ]
    return form


def _render(account: FeeAccount, *, status: int = 200, **given: Any) -> Response:
    forms: dict[str, Any] = {
        "payment_form": PaymentForm(prefix="payment", data={"received_on": utc_today()}),
        "waiver_form": WaiverForm(prefix="waiver"),
        "refund_form": _refund_form(account),
    }
    forms.update(given)
    page = render_template(
        "payments/staff_account.html",
        account=account,
        totals=totals_of(account),
        names=_names(account),
        money=money,
        **forms,
    )
    return Response(page, status=status)


@bp.get("/staff/fees/accounts/<int:account_id>")
@role_required(*STAFF)
def account(account_id: int):
    """One account's ledger: charges, payments with their receipts, waivers, refunds; its totals."""
    return _render(_account_or_404(account_id))


def _act(account_id: int, form, form_name: str, action, success: str):
    """Run a change on the account: back to its page with `success`, or the page again with the
    refusal on the form (nothing changed)."""
    account = _account_or_404(account_id)
    if form_name == "refund_form":
        _refund_form(account, form)
    if not form.validate_on_submit():
        return _render(account, status=400, **{form_name: form})
    outcome = attempt(lambda: action(account, form))
    if outcome.refusal is not None:
        account = _account_or_404(account_id)  # as it is now (the refusal rolled back what was tried)
        if form_name == "refund_form":
            _refund_form(account, form)
        show_refusal(form, outcome.refusal)
        return _render(account, status=400, **{form_name: form})
    flash_success(success)
    return redirect(url_for("payments_staff.account", account_id=account_id))


@bp.post("/staff/fees/accounts/<int:account_id>/payments")
@role_required(*STAFF)
def record_payment(account_id: int):
    """A cheque, purchase order or bank transfer received: recorded, audited, its receipt e-mailed."""
    return _act(
        account_id,
        PaymentForm(prefix="payment"),
        "payment_form",
        lambda account, form: services.record_staff_payment(
            account=account,
            method=PaymentMethod(form.method.data),
            amount_cents=amount_in_cents(form.amount.data),
            received_on=form.received_on.data,
            reference=form.reference.data,
            as_credit=bool(form.as_credit.data),
            today=utc_today(),
            actor=current_user,
        ),
        "The payment is recorded and its receipt e-mailed to the payer.",
    )


@bp.post("/staff/fees/accounts/<int:account_id>/waivers")
@role_required(*STAFF)
def waive(account_id: int):
    """A waiver or a scholarship: part or all of what is owed forgiven, with its reason."""
    return _act(
        account_id,
        WaiverForm(prefix="waiver"),
        "waiver_form",
        lambda account, form: services.grant_waiver(
            account=account,
            kind=WaiverKind(form.kind.data),
            amount_cents=amount_in_cents(form.amount.data),
            reason=form.reason.data,
            actor=current_user,
        ),
        "The waiver is recorded.",
    )


@bp.post("/staff/fees/accounts/<int:account_id>/refunds")
@role_required(*STAFF)
def refund(account_id: int):
    """Money given back from one payment (through Stripe for a card payment); the payer is told."""
    return _act(
        account_id,
        RefundForm(prefix="refund"),
        "refund_form",
        lambda account, form: services.issue_refund(
            account=account,
            payment_id=database_id(form.payment.data),
            amount_cents=amount_in_cents(form.amount.data),
            reason=form.reason.data,
            actor=current_user,
        ),
        "The refund is recorded and the payer told.",
    )


# ---------------------------------------------------------------------------------------------
# Receipts


@bp.get("/fees/receipts/<int:payment_id>")
@login_required
def receipt(payment_id: int):
    """The printable receipt of a payment: its payer's, or any for an administrator; to anyone else
    it does not exist."""
    payment = receipts.payment_for_receipt(payment_id)
    if payment is None or not receipts.may_see_receipt(current_user, payment):
        abort(404)
    return render_template(
        "payments/receipt.html",
        payment=payment,
        account=payment.account,
        amount=money(payment.amount_cents, payment.currency),
        money=money,
        association_lines=receipts.association_lines(),
    )
