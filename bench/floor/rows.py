"""Plain rows that lend refportal's pure rules the models' properties, so a floor calls the rules
(completeness_of, evaluate_eligibility, evidence_of, statement_of, totals_of, …) instead of restating
them; and the Core statements that read an application's evidence entries and its fee account, built
once (each request binds its ids). What the pages show is refportal's own rule run on these rows."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from types import SimpleNamespace

import sqlalchemy as sa
from babel.dates import format_date
from babel.numbers import format_currency

from refportal import config
from refportal.applications import models as application_models
from refportal.i18n import DEFAULT_LANGUAGE
from refportal.membership.models import MembershipDeclaration
from refportal.payments import models as payment_models
from refportal.portfolio.models import EducationEntry, RscEntry, TrainingEntry, WorkEntry
from refportal.references.models import Reference as ReferenceModel


class Application(SimpleNamespace):
    """An application's row: its properties are refportal.applications.models.Application's own."""

    category_name = application_models.Application.category_name
    is_reinstatement = application_models.Application.is_reinstatement
    is_active = application_models.Application.is_active
    is_editable = application_models.Application.is_editable
    is_under_review = application_models.Application.is_under_review
    renews_on = application_models.Application.renews_on
    eligibility_recorded = application_models.Application.eligibility_recorded
    from_entries = application_models.Application.from_entries
    recorded_eligibility = application_models.Application.recorded_eligibility


class Membership(SimpleNamespace):
    association_label = MembershipDeclaration.association_label
    status_on = MembershipDeclaration.status_on
    is_current_on = MembershipDeclaration.is_current_on


class Reference(SimpleNamespace):
    has_ended = ReferenceModel.has_ended
    counts = ReferenceModel.counts
    rating_not_counted = ReferenceModel.rating_not_counted
    accepts_rating = ReferenceModel.accepts_rating


# ---------------------------------------------------------------------------------------------
# The evidence entries: a portfolio's four lists, in their relationships' order (refportal's
# applications.evidence.load_entries reads them the same way: one statement per list).


class Work(SimpleNamespace):
    ongoing = WorkEntry.ongoing


ENTRY_KINDS = (
    ("education", EducationEntry, SimpleNamespace, (EducationEntry.year_completed, EducationEntry.id)),
    ("work", WorkEntry, Work, (WorkEntry.starts_on, WorkEntry.id)),
    ("training", TrainingEntry, SimpleNamespace, (TrainingEntry.taken_on, TrainingEntry.id)),
    ("rsc", RscEntry, SimpleNamespace, (RscEntry.starts_on, RscEntry.id)),
)


def _entry_statement(model, order) -> sa.Select:
    columns = [c for c in model.__table__.columns if c.key != "created_at"]
    return (
        sa.select(*(getattr(model, c.key) for c in columns))
        .where(model.portfolio_id.in_(sa.bindparam("portfolio_ids", expanding=True)))
        .order_by(*order)
    )


ENTRY_STATEMENTS = [(kind, row_type, _entry_statement(model, order)) for kind, model, row_type, order in ENTRY_KINDS]


def portfolios(conn: sa.Connection, ids: Iterable[int]) -> dict[int, SimpleNamespace]:
    """The portfolios `ids` with their entries (four statements whatever their number), by id."""
    found = {i: SimpleNamespace(id=i, education=[], work=[], training=[], rsc=[]) for i in ids}
    if not found:
        return found
    for kind, row_type, statement in ENTRY_STATEMENTS:
        for row in conn.execute(statement, {"portfolio_ids": list(found)}):
            getattr(found[row.portfolio_id], kind).append(row_type(**row._asdict()))
    return found


def lend_portfolios(conn: sa.Connection, applications: Iterable[Application]) -> None:
    """Each application whose eligibility comes from entries gets its `portfolio` (None without one)."""
    reading = [a for a in applications if a.from_entries and a.portfolio_id is not None]
    loaded = portfolios(conn, {a.portfolio_id for a in reading})
    for application in applications:
        application.portfolio = loaded.get(application.portfolio_id) if application.from_entries else None


# ---------------------------------------------------------------------------------------------
# The fee ledger: an application's account with its rows (one statement, as refportal's find_account),
# ready for refportal.payments.ledger's statement_of, totals_of and owed_for.


class Charge(SimpleNamespace):
    is_owed = payment_models.Charge.is_owed


class Payment(SimpleNamespace):
    receipt_number = payment_models.Payment.receipt_number
    refunded_cents = payment_models.Payment.refunded_cents
    refundable_cents = payment_models.Payment.refundable_cents


A, C, P, R, W = (
    payment_models.FeeAccount,
    payment_models.Charge,
    payment_models.Payment,
    payment_models.Refund,
    payment_models.Waiver,
)
ACCOUNT_STATEMENT = (
    sa.select(
        A.id,
        A.label,
        A.currency,
        C.id.label("c_id"),
        C.kind.label("c_kind"),
        C.amount_cents.label("c_amount_cents"),
        C.created_at.label("c_created_at"),
        C.voided_at.label("c_voided_at"),
        P.id.label("p_id"),
        P.method.label("p_method"),
        P.amount_cents.label("p_amount_cents"),
        P.received_on.label("p_received_on"),
        P.reference.label("p_reference"),
        P.created_at.label("p_created_at"),
        R.id.label("r_id"),
        R.amount_cents.label("r_amount_cents"),
        R.created_at.label("r_created_at"),
        W.id.label("w_id"),
        W.kind.label("w_kind"),
        W.amount_cents.label("w_amount_cents"),
        W.created_at.label("w_created_at"),
    )
    .outerjoin(C, C.account_id == A.id)
    .outerjoin(P, P.account_id == A.id)
    .outerjoin(R, R.payment_id == P.id)
    .outerjoin(W, W.account_id == A.id)
    .where(A.application_id == sa.bindparam("application_id"))
)


def _picked(rows, prefix: str) -> list[dict]:
    """The distinct rows of one joined table (its columns named `prefix`_…), in id order."""
    found: dict[int, dict] = {}
    for row in rows:
        values = row._asdict()
        key = values[f"{prefix}_id"]
        if key is not None and key not in found:
            found[key] = {
                name[len(prefix) + 1 :]: value for name, value in values.items() if name.startswith(f"{prefix}_")
            }
    return [found[key] for key in sorted(found)]


def account_of(conn: sa.Connection, application_id: int) -> SimpleNamespace | None:
    """The application's fee account with its charges, payments (with their refunds) and waivers."""
    rows = conn.execute(ACCOUNT_STATEMENT, {"application_id": application_id}).all()
    if not rows:
        return None
    paid_by = {row.r_id: row.p_id for row in rows if row.r_id is not None}
    refunds: dict[int, list[SimpleNamespace]] = {}
    for refund in _picked(rows, "r"):
        refunds.setdefault(paid_by[refund["id"]], []).append(SimpleNamespace(**refund))
    first = rows[0]
    return SimpleNamespace(
        id=first.id,
        label=first.label,
        currency=first.currency,
        charges=[Charge(**c) for c in _picked(rows, "c")],
        payments=[Payment(**p, refunds=refunds.get(p["id"], [])) for p in _picked(rows, "p")],
        waivers=[SimpleNamespace(**w) for w in _picked(rows, "w")],
    )


# refportal's Jinja filters `money` (refportal.payments.ledger.money) and `dateformat`, in the default language
# (Flask-Babel's format_currency and format_date are Babel's, given the page's locale).
def money(amount_cents: int, currency: str) -> str:
    return format_currency(Decimal(amount_cents) / 100, currency, locale=DEFAULT_LANGUAGE)


def dateformat(day, form: str = "medium") -> str:
    return format_date(day, form, locale=DEFAULT_LANGUAGE)


# refportal's settings as the benchmark runs it (production, nothing set in the environment): each one's
# default, read by refportal.config's own reader. A floor puts those its rules read in its app's config,
# so it calls the rules that read current_app.config (fees_for, flag_rules, online_payment_enabled, …).
_SETTINGS = {key: setting for setting in config.SETTINGS for key in setting.keys}


def refportal_config(*keys: str) -> dict:
    return {key: _SETTINGS[key].read(_SETTINGS[key].name, None, config.Context()) for key in keys}
