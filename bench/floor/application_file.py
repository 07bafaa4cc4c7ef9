"""/review/applications/<id>: a reviewer's view of one application file (refportal.reviews.views.application_file).

The file's rows in one statement (application, applicant, membership, round, references, ratings, a
reused rating's application), the viewer's conflicts (two), the opening of the ratings on the audit
trail (an INSERT, as refportal's page), the reviews, the audit trail, the referees' endorsements and the
assignments: nine statements (refportal's own count for the page is measured by `make bench`: the SQL
statements column of docs/benchmark.md). The rules are refportal's own pure
functions (completeness, eligibility, fees, the matrix, the flags) run on plain rows; the objects below
lend them refportal's model properties (the same functions, without the ORM)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import sqlalchemy as sa
from flask import Flask, abort, render_template, session

from floor.common import connect, csrf_token
from refportal.accounts.models import User
from refportal.applications.eligibility import evaluate_eligibility
from refportal.applications.fees import fee_breakdown
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application
from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.config import DEFAULT_ELIGIBILITY_REQUIREMENTS, DEFAULT_FEE_SCHEDULE
from refportal.db import utc_today
from refportal.membership.models import MembershipDeclaration, MembershipKind
from refportal.membership.services import membership_fee_due
from refportal.references.models import Rating, Reference
from refportal.references.rating_form import DOMAINS, SCALE
from refportal.reviews.aggregation import Endorsement, FlagRules, build_matrix, file_flags
from refportal.reviews.chart import BAR_GAP, BAR_HEIGHT, POINT_WIDTH, ROW_PADDING
from refportal.reviews.file_page import READINGS_SHOWN
from refportal.reviews.models import Decision, Recusal, Review, ReviewAssignment, ReviewRound
from refportal.submission.completeness import completeness_of

# refportal's settings as the benchmark runs it (refportal/config.py's defaults).
REQUIREMENTS = DEFAULT_ELIGIBILITY_REQUIREMENTS
FEES = DEFAULT_FEE_SCHEDULE
REVIEWERS_PER_FILE = 2
REVIEW_HORIZON_DAYS = 60
FLAG_SETTINGS = {"na_limit": 6, "rating_valid_days": 365, "known_years_minimum": Decimal("1")}
# The domains' titles: the English text of refportal's lazy strings (the floor has no Babel).
TITLES = {domain.key: domain.title._args[0] for domain in DOMAINS}
OUTCOMES = [(o.value, o.label) for o in Decision]
# Recommendation.label, in English (refportal's are lazy strings too).
RECOMMENDATIONS = {
    "recommend": "I recommend the applicant",
    "recommend_with_reservations": "I recommend the applicant with reservations",
    "do_not_recommend": "I do not recommend the applicant",
}


class _Application(SimpleNamespace):
    recorded_eligibility = Application.recorded_eligibility
    eligibility_recorded = Application.eligibility_recorded
    category_name = Application.category_name
    is_active = Application.is_active


class _Membership(SimpleNamespace):
    association_label = MembershipDeclaration.association_label
    status_on = MembershipDeclaration.status_on
    is_current_on = MembershipDeclaration.is_current_on


class _Reference(SimpleNamespace):
    has_ended = Reference.has_ended
    counts = Reference.counts
    rating_not_counted = Reference.rating_not_counted
    accepts_rating = Reference.accepts_rating


def _file_statement(application_id: int) -> sa.Select:
    a, m, ref, r, rr = Application, MembershipDeclaration, Reference, Rating, ReviewRound
    earlier = sa.orm.aliased(Rating)
    earlier_ref = sa.orm.aliased(Reference)
    return (
        sa.select(
            a.id,
            a.applicant_id,
            a.credential,
            a.category,
            a.mentor_track,
            a.status,
            a.created_at,
            a.submitted_at,
            a.decided_at,
            a.decision_message,
            a.review_cycle.label("review_cycle"),
            a.review_round_id,
            a.education_level,
            a.work_years,
            a.training_hours,
            a.rsc_hours,
            a.employer,
            a.eligibility_recorded_at,
            User.name.label("applicant_name"),
            User.email.label("applicant_email"),
            m.id.label("m_id"),
            m.kind.label("m_kind"),
            m.association.label("m_association"),
            m.association_name.label("m_association_name"),
            m.member_number.label("m_member_number"),
            m.expires_on.label("m_expires_on"),
            m.status.label("m_status"),
            m.declared_at.label("m_declared_at"),
            m.verified_at.label("m_verified_at"),
            m.verification_note.label("m_verification_note"),
            m.verification_source.label("m_verification_source"),
            rr.name.label("round_name"),
            rr.review_due.label("round_review_due"),
            ref.id.label("ref_id"),
            ref.name.label("ref_name"),
            ref.email.label("ref_email"),
            ref.organisation.label("ref_organisation"),
            ref.role.label("ref_role"),
            ref.setting.label("ref_setting"),
            ref.known_years.label("ref_known_years"),
            ref.endorsed_credential.label("ref_endorsed_credential"),
            ref.endorsed_category.label("ref_endorsed_category"),
            ref.waived.label("ref_waived"),
            ref.status.label("ref_status"),
            ref.nominated_at,
            ref.invited_at,
            ref.opened_at,
            ref.draft_saved_at,
            ref.submitted_at.label("ref_submitted_at"),
            ref.declined_at,
            ref.decline_reason,
            ref.bounced_at,
            ref.expired_at,
            ref.withdrawn_at,
            ref.last_reminder_at,
            r.id.label("rating_id"),
            r.answers,
            r.not_enough_information,
            r.counts.label("rating_counts"),
            r.recommendation,
            r.strengths,
            r.growth,
            r.for_reviewers,
            r.relationship_role,
            r.relationship_setting,
            r.relationship_years,
            r.referee_role,
            r.endorsed_credential.label("rating_endorsed_credential"),
            r.endorsed_category.label("rating_endorsed_category"),
            r.endorsement_number,
            r.attestation_name,
            r.submitted_at.label("rating_submitted_at"),
            r.reused_from_id,
            r.signed_form_id,
            r.entered_by_id,
            earlier_ref.application_id.label("reused_application_id"),
        )
        .select_from(a)
        .join(User, User.id == a.applicant_id)
        .outerjoin(m, m.application_id == a.id)
        .outerjoin(rr, rr.id == a.review_round_id)
        .outerjoin(ref, ref.application_id == a.id)
        .outerjoin(r, r.reference_id == ref.id)
        .outerjoin(earlier, earlier.id == r.reused_from_id)
        .outerjoin(earlier_ref, earlier_ref.id == earlier.reference_id)
        .where(a.id == application_id)
        .order_by(ref.id)
    )


# Built once: each request only binds the id (SQLAlchemy's compiled cache then skips the rest).
FILE_STATEMENT = _file_statement(sa.bindparam("application_id"))


def _application(rows) -> _Application:
    first = rows[0]
    membership = None
    if first.m_id is not None:
        membership = _Membership(
            kind=first.m_kind,
            association=first.m_association,
            association_name=first.m_association_name,
            member_number=first.m_member_number,
            expires_on=first.m_expires_on,
            status=first.m_status,
            declared_at=first.m_declared_at,
            verified_at=first.m_verified_at,
            verification_note=first.m_verification_note,
            verification_source=first.m_verification_source,
        )
    references = []
    for row in rows:
        if row.ref_id is None:
            continue
        rating = None
        if row.rating_id is not None:
            if row.signed_form_id is not None or row.entered_by_id is not None:
                # A rating staff entered from a signed paper form (its document, who entered it) is not
                # drawn: the benchmark's ratings are the referees' own.
                abort(501)
            rating = SimpleNamespace(
                answers=row.answers,
                not_enough_information=row.not_enough_information,
                counts=row.rating_counts,
                recommendation=row.recommendation,
                strengths=row.strengths,
                growth=row.growth,
                for_reviewers=row.for_reviewers,
                relationship_role=row.relationship_role,
                relationship_setting=row.relationship_setting,
                relationship_years=row.relationship_years,
                referee_role=row.referee_role,
                endorsed_credential=row.rating_endorsed_credential,
                endorsed_category=row.rating_endorsed_category,
                endorsement_number=row.endorsement_number,
                attestation_name=row.attestation_name,
                submitted_at=row.rating_submitted_at,
                reused_from_id=row.reused_from_id,
                reused_application_id=row.reused_application_id,
            )
        references.append(
            _Reference(
                id=row.ref_id,
                name=row.ref_name,
                email=row.ref_email,
                organisation=row.ref_organisation,
                role=row.ref_role,
                setting=row.ref_setting,
                known_years=row.ref_known_years,
                endorsed_credential=row.ref_endorsed_credential,
                endorsed_category=row.ref_endorsed_category,
                waived=row.ref_waived,
                status=row.ref_status,
                submitted_at=row.ref_submitted_at,
                decline_reason=row.decline_reason,
                rating=rating,
                dates=[
                    (label, value)
                    for label, value in (
                        ("Asked", row.invited_at),
                        ("Opened", row.opened_at),
                        ("Draft saved", row.draft_saved_at),
                        ("Last reminder", row.last_reminder_at),
                        ("Submitted", row.ref_submitted_at),
                        ("Declined", row.declined_at),
                        ("Bounced", row.bounced_at),
                        ("Expired", row.expired_at),
                        ("Withdrawn", row.withdrawn_at),
                    )
                ],
                nominated_at=row.nominated_at,
            )
        )
    return _Application(
        id=first.id,
        applicant_id=first.applicant_id,
        applicant_name=first.applicant_name,
        applicant_email=first.applicant_email,
        credential=first.credential,
        category=first.category,
        mentor_track=first.mentor_track,
        status=first.status,
        created_at=first.created_at,
        submitted_at=first.submitted_at,
        decided_at=first.decided_at,
        decision_message=first.decision_message,
        review_cycle=first.review_cycle,
        review_round_id=first.review_round_id,
        round_name=first.round_name,
        round_review_due=first.round_review_due,
        education_level=first.education_level,
        work_years=first.work_years,
        training_hours=first.training_hours,
        rsc_hours=first.rsc_hours,
        employer=first.employer,
        eligibility_recorded_at=first.eligibility_recorded_at,
        membership=membership,
        references=references,
    )


def _organisation_key(name: str | None) -> str:
    return " ".join((name or "").casefold().split())


def _my_conflicts(conn: sa.Connection, application: _Application, viewer) -> list[str]:
    """refportal.reviews.assignments.conflicts_with(application, viewer): two statements."""
    causes = []
    if viewer.id == application.applicant_id:
        causes.append("is the applicant")
    employer = _organisation_key(application.employer)
    if employer and _organisation_key(viewer.organisation) == employer:
        causes.append(f"works at the applicant's organisation ({application.employer})")
    referees = conn.execute(
        sa.select(Reference.status, Reference.application_id)
        .join(Application, Reference.application_id == Application.id)
        .where(
            Application.applicant_id == application.applicant_id,
            sa.func.lower(Reference.email).in_([viewer.email.lower()]),
        )
    ).all()
    for status, application_id in referees:
        where = "this application" if application_id == application.id else f"application {application_id}"
        causes.append(f"is one of the applicant's referees ({status.label.lower()}, {where})")
    for (reason,) in conn.execute(
        sa.select(Recusal.reason).where(Recusal.application_id == application.id, Recusal.reviewer_id == viewer.id)
    ):
        causes.append(f"recused: {reason}")
    return causes


def _chart(matrix) -> SimpleNamespace:
    """refportal.reviews.chart.build_chart, with the domains' titles as text."""
    series = len(matrix.columns) or 1
    row_height = series * (BAR_HEIGHT + BAR_GAP) - BAR_GAP + ROW_PADDING
    rows = []
    for domain in DOMAINS:
        bars = []
        for index, column in enumerate(matrix.columns):
            cell = column.cells[domain.key]
            if cell.mean is None:
                continue
            bars.append(
                SimpleNamespace(
                    x=0,
                    y=ROW_PADDING // 2 + index * (BAR_HEIGHT + BAR_GAP),
                    width=round(cell.mean * POINT_WIDTH),
                    series=index,
                    text=f"{column.reference.name}: {cell.mean:.2f}",
                )
            )
        mean = matrix.domain_means[domain.key]
        rows.append(
            SimpleNamespace(
                label=TITLES[domain.key],
                height=row_height,
                bars=bars,
                mean_x=None if mean is None else round(mean * POINT_WIDTH),
            )
        )
    top = len(SCALE)
    return SimpleNamespace(
        plot_width=top * POINT_WIDTH,
        rows=rows,
        ticks=[(n * POINT_WIDTH, str(n)) for n in range(top + 1)],
        legend=[(index, column.reference.name) for index, column in enumerate(matrix.columns)],
    )


def register(app: Flask) -> None:
    @app.get("/review/applications/<int:application_id>")
    def application_file(application_id: int):
        today = utc_today()
        with connect() as conn:
            viewer = conn.execute(
                sa.text(
                    "SELECT id, name, role, email, organisation FROM user_account "
                    "WHERE id = :id AND session_version = :version AND deactivated_at IS NULL"
                ),
                _session_user(),
            ).first()
            if viewer is None or viewer.role not in ("reviewer", "admin"):
                abort(404)
            if viewer.role == "admin":
                # The administrators' view (every reviewer's conflicts, assigning, the decision) is not
                # written: the benchmark opens the file as a reviewer (REVIEWERS_READ_UNASSIGNED on).
                abort(501)
            rows = conn.execute(FILE_STATEMENT, {"application_id": application_id}).all()
            if not rows:
                abort(404)
            application = _application(rows)
            my_conflicts = _my_conflicts(conn, application, viewer)
            documents = conn.execute(
                sa.text(
                    "SELECT count(*) FROM document WHERE application_id = :id "
                    "AND purpose IN ('transcript', 'certificate', 'rsc_verification', 'resume')"
                ),
                {"id": application.id},
            ).scalar()
            if documents:
                abort(501)  # a file with documents is not written: the benchmark's files have none
            may_read = not my_conflicts
            reviews = conn.execute(
                sa.select(
                    Review.reviewer_id,
                    Review.cycle.label("cycle"),
                    Review.outcome,
                    Review.notes,
                    Review.message,
                    Review.recorded_at,
                )
                .add_columns(User.name)
                .join(User, User.id == Review.reviewer_id)
                .where(Review.application_id == application.id)
                .order_by(Review.cycle, Review.recorded_at)
            ).all()
            reference_ids = [r.id for r in application.references]
            mine = sa.or_(
                sa.and_(AuditEvent.object_type == "application", AuditEvent.object_id == application.id),
                sa.and_(AuditEvent.object_type == "reference", AuditEvent.object_id.in_(reference_ids or [-1])),
            )
            reading = AuditEvent.action == AuditAction.FILE_RATINGS_READ
            ranked = (
                sa.select(
                    AuditEvent.id,
                    reading.label("reading"),
                    sa.func.row_number()
                    .over(partition_by=reading, order_by=(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()))
                    .label("recency"),
                    sa.func.count().over(partition_by=reading).label("of_kind"),
                )
                .where(mine)
                .subquery()
            )
            trail = conn.execute(
                sa.select(
                    AuditEvent.occurred_at,
                    AuditEvent.actor_id,
                    AuditEvent.action,
                    AuditEvent.object_type,
                    AuditEvent.object_id,
                    AuditEvent.details,
                    User.name,
                    ranked.c.reading,
                    ranked.c.of_kind,
                )
                .join(ranked, ranked.c.id == AuditEvent.id)
                .outerjoin(User, AuditEvent.actor_id == User.id)
                .where(sa.or_(sa.not_(ranked.c.reading), ranked.c.recency <= READINGS_SHOWN))
                .order_by(AuditEvent.occurred_at, AuditEvent.id)
            ).all()
            readings = max((e.of_kind for e in trail if e.reading), default=0)
            earlier_readings = max(readings - READINGS_SHOWN, 0)
            if may_read and any(r.rating for r in application.references):
                # The opening of the ratings goes on the audit trail, as refportal's page records it. refportal
                # records it before reading the trail (its page lists its own opening); the floor reads the
                # trail first, so its page lists the trail as refportal's previous opening left it: the same
                # statements, and (opened one after the other, as check.py does) the same rows.
                conn.execute(
                    sa.insert(AuditEvent).values(
                        occurred_at=datetime.now(UTC),
                        actor_id=viewer.id,
                        action="file.ratings_read",
                        object_type="application",
                        object_id=application.id,
                        details={},
                    )
                )
                conn.commit()
            emails = [r.email for r in application.references]
            endorsements: dict[str, list[Endorsement]] = {}
            if emails:
                for email, credential, category, decided_at in conn.execute(
                    sa.select(User.email, Application.credential, Application.category, Application.decided_at)
                    .outerjoin(
                        Application,
                        sa.and_(Application.applicant_id == User.id, Application.status == ApplicationStatus.ENDORSED),
                    )
                    .where(User.email.in_(emails))
                ):
                    granted = endorsements.setdefault(email, [])
                    if credential is not None:
                        granted.append(Endorsement(credential, category, decided_at))
            assignments = conn.execute(
                sa.select(ReviewAssignment.reviewer_id, ReviewAssignment.assigned_at, User.name)
                .join(User, ReviewAssignment.reviewer_id == User.id)
                .where(ReviewAssignment.application_id == application.id)
                .order_by(ReviewAssignment.assigned_at, ReviewAssignment.id)
            ).all()

        current = application.review_cycle
        reviewed_by = {r.reviewer_id for r in reviews if r.cycle == current}
        mine = next((r for r in reviews if r.reviewer_id == viewer.id and r.cycle == current), None)
        others_hidden = mine is None  # refportal.reviews.file_page.others_hidden, for a reviewer
        if others_hidden:
            reviews = [r for r in reviews if not (r.cycle == current and r.reviewer_id != viewer.id)]
            trail = [
                e
                for e in trail
                if not (e.action == "review.recorded" and e.details.get("round") == current and e.actor_id != viewer.id)
            ]
        assigned = [
            SimpleNamespace(name=a.name, at=a.assigned_at, reviewed=a.reviewer_id in reviewed_by) for a in assignments
        ]
        matrix = build_matrix(application.references)
        rules = FlagRules(
            review_by=today + timedelta(days=REVIEW_HORIZON_DAYS),
            as_of=application.decided_at.date() if application.decided_at else today,
            **FLAG_SETTINGS,
        )
        membership = application.membership
        verification = {"member_number": "", "expires_on": ""}
        if membership is not None and membership.kind is MembershipKind.WILL_JOIN and membership.member_number:
            verification = {
                "member_number": membership.member_number,
                "expires_on": membership.expires_on.strftime("%Y-%m-%d") if membership.expires_on else "",
            }
        return render_template(
            "application_file.html",
            user=viewer,
            csrf=csrf_token(),
            application=application,
            fees=fee_breakdown(
                schedule=FEES, category=application.category, membership_fee_due=membership_fee_due(application, today)
            ),
            checks=evaluate_eligibility(application, REQUIREMENTS),
            completeness=completeness_of(application, today, REQUIREMENTS),
            membership_status=membership.status_on(today) if membership else None,
            matrix=matrix,
            chart=_chart(matrix),
            domains=[(domain.key, TITLES[domain.key]) for domain in DOMAINS],
            flags=file_flags(application, matrix, rules, endorsements),
            endorsements=endorsements,
            reviews=reviews,
            others_hidden=others_hidden,
            audit=trail,
            earlier_readings=earlier_readings,
            assigned=assigned,
            short=max(0, REVIEWERS_PER_FILE - len(assigned)),
            needed=REVIEWERS_PER_FILE,
            my_conflicts=my_conflicts,
            may_read_ratings=may_read,
            recused=any(cause.startswith("recused:") for cause in my_conflicts),
            assigned_to_me=any(a.reviewer_id == viewer.id for a in assignments),
            verification=verification,
            mine=mine,
            outcomes=OUTCOMES,
            recommendations=RECOMMENDATIONS,
            crlf="\r\n",
        )


def _session_user() -> dict:
    """floor.common.signed_in_user's reading of the session (this page needs the e-mail and organisation too)."""
    user_id, _, version = str(session.get("_user_id", "")).partition(".")
    if not user_id.isdigit() or not version.isdigit():
        return {"id": -1, "version": -1}
    return {"id": int(user_id), "version": int(version)}
