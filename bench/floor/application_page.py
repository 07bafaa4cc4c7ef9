"""/applications/<id>: the applicant's view of one application (refportal.submission.views.application_page).

The page's statements: the signed-in user; the application with its membership, round, lapsed
endorsement (a reinstatement), references and their ratings' "counts" (one); its evidence entries (four,
for an application whose eligibility comes from entries); its fee account with the ledger's rows (one);
the reviewers' verdicts only while the application is open again for their "more information" request
(one): seven, eight for an application sent back (refportal's page, counted on the bench's data: eight,
and ten for one sent back).
What the page shows is refportal's own rules run on rows that lend them the models' properties
(floor.rows), with refportal's settings in the app's config: the checklist (file_completeness), the
eligibility (evaluate_eligibility), the ledger (statement_of, totals_of, owed_for), the renewal date
(Application.renews_on), the requested items (open_items_of)."""

from __future__ import annotations

from types import SimpleNamespace

import sqlalchemy as sa
from flask import Flask, abort, current_app, render_template

from floor import rows
from floor.common import connect, csrf_token, signed_in_user
from refportal.applications.eligibility import evaluate_eligibility
from refportal.applications.fees import application_fee_due_at_opening
from refportal.applications.models import Application
from refportal.applications.verdicts import RequirementVerdict, asks_for_items, latest_clause, open_items_of
from refportal.db import utc_today
from refportal.endorsements.models import Endorsement
from refportal.membership.models import MembershipDeclaration
from refportal.payments.gateway import online_payment_enabled
from refportal.payments.ledger import owed_for, statement_of, totals_of
from refportal.payments.models import DUE_BEFORE_REQUESTS
from refportal.references.models import Rating, Reference
from refportal.reviews.models import ReviewRound
from refportal.submission.services import file_completeness

MAX_ID = 2**31 - 1  # refportal's <int:…> converter: a larger id matches no route
# The settings the page's rules read (refportal's, as the benchmark runs it).
CONFIG = (
    "ELIGIBILITY_REQUIREMENTS",
    "ENDORSEMENT_RENEWAL_MONTHS",
    "FEE_APPLICATION_FEE_DUE",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "ASSOCIATION_EMAIL",
)

APPLICATION_COLUMNS = (
    "id",
    "credential",
    "category",
    "mentor_track",
    "status",
    "created_at",
    "submitted_at",
    "decided_at",
    "decision_message",
    "review_cycle",
    "reinstates_endorsement_id",
    "education_level",
    "work_years",
    "training_hours",
    "rsc_hours",
    "eligibility_recorded_at",
    "eligibility_source",
    "portfolio_id",
)
MEMBERSHIP_COLUMNS = (
    "id",
    "kind",
    "association",
    "association_name",
    "member_number",
    "expires_on",
    "status",
    "verification_note",
)


def _statement() -> sa.Select:
    """One row per reference (one row without any), the application's columns repeated on each."""
    m, rr = MembershipDeclaration, ReviewRound
    return (
        sa.select(
            *(getattr(Application, c).label(c) for c in APPLICATION_COLUMNS),
            Endorsement.number.label("reinstates_number"),
            *(getattr(m, c).label(f"m_{c}") for c in MEMBERSHIP_COLUMNS),
            rr.name.label("round_name"),
            rr.review_due.label("round_review_due"),
            Reference.id.label("ref_id"),
            Reference.name.label("ref_name"),
            Reference.role.label("ref_role"),
            Reference.status.label("ref_status"),
            Rating.counts.label("rating_counts"),
        )
        .outerjoin(Endorsement, Endorsement.id == Application.reinstates_endorsement_id)
        .outerjoin(m, m.application_id == Application.id)
        .outerjoin(rr, rr.id == Application.review_round_id)
        .outerjoin(Reference, Reference.application_id == Application.id)
        .outerjoin(Rating, Rating.reference_id == Reference.id)
        .where(Application.id == sa.bindparam("application_id"), Application.applicant_id == sa.bindparam("user_id"))
        .order_by(Reference.id)
    )


# Built once: each request only binds its ids (SQLAlchemy's compiled cache then skips the rest).
STATEMENT = _statement()
VERDICTS = sa.select(
    RequirementVerdict.requirement, RequirementVerdict.cycle, RequirementVerdict.verdict, RequirementVerdict.reason
).where(RequirementVerdict.application_id == sa.bindparam("application_id"), latest_clause())


def _application(found) -> rows.Application:
    first = found[0]
    membership = None
    if first.m_id is not None:
        membership = rows.Membership(**{c: getattr(first, f"m_{c}") for c in MEMBERSHIP_COLUMNS})
    review_round = None
    if first.round_name is not None:
        review_round = SimpleNamespace(name=first.round_name, review_due=first.round_review_due)
    references = [
        rows.Reference(
            id=row.ref_id,
            name=row.ref_name,
            role=row.ref_role,
            status=row.ref_status,
            rating=None if row.rating_counts is None else SimpleNamespace(counts=row.rating_counts),
        )
        for row in found
        if row.ref_id is not None
    ]
    return rows.Application(
        **{c: getattr(first, c) for c in APPLICATION_COLUMNS},
        reinstates_number=first.reinstates_number,
        membership=membership,
        review_round=review_round,
        references=references,
    )


def _offer(account, balance: int) -> SimpleNamespace | None:
    """refportal.payments.views.payment_offer, as the bench runs it (online payment off): what is owed."""
    if online_payment_enabled():
        abort(501)  # the pay-by-card form is not drawn: the benchmark runs without Stripe
    return SimpleNamespace(account=account, owed_cents=balance, owed=rows.money(balance, account.currency))


def register(app: Flask) -> None:
    app.config.update(rows.refportal_config(*CONFIG))
    app.add_template_filter(rows.money, "money")
    app.add_template_filter(rows.dateformat, "dateformat")

    @app.get("/applications/<int:application_id>")
    def application_page(application_id: int):
        if application_id > MAX_ID:
            abort(404)
        today = utc_today()
        with connect() as conn:
            user = signed_in_user(conn)
            if user is None or user.role != "applicant":
                abort(404)
            found = conn.execute(STATEMENT, {"application_id": application_id, "user_id": user.id}).all()
            if not found:
                abort(404)
            application = _application(found)
            rows.lend_portfolios(conn, [application])
            # refportal's page posts the charges of an editable application on its first view (and after
            # its membership changed); the floor draws the ledger as it stands (the same rows after that).
            account = rows.account_of(conn, application.id)
            requested = []
            if asks_for_items(application):
                current = {v.requirement: v for v in conn.execute(VERDICTS, {"application_id": application.id})}
                requested = open_items_of(current, application.review_cycle - 1)
        config = current_app.config
        totals = totals_of(account) if account is not None else None
        before_requests = 0  # refportal.applications.fees.fee_owed_before_requests, on the account read
        if account is not None and application.is_editable and application_fee_due_at_opening():
            before_requests = owed_for(account, DUE_BEFORE_REQUESTS)
        membership = application.membership
        return render_template(
            "application_page.html",
            user=user,
            csrf=csrf_token(),
            application=application,
            account=account,
            statement=statement_of(account) if account is not None else [],
            totals=totals,
            before_requests=before_requests,
            pay=_offer(account, totals.balance) if account is not None and application.is_editable else None,
            association_email=config["ASSOCIATION_EMAIL"],
            checks=evaluate_eligibility(application, config["ELIGIBILITY_REQUIREMENTS"]),
            completeness=file_completeness(application, today),
            membership_status=membership.status_on(today) if membership else None,
            requested_items=requested,
            renews_on=application.renews_on(config["ENDORSEMENT_RENEWAL_MONTHS"]),
        )
