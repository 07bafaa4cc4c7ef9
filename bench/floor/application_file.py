"""/review/applications/<id>: a reviewer's view of one application file (refportal.reviews.views.application_file).

The file's rows in one statement (application, applicant, membership, round, references, ratings, a
reused rating's application), the viewer's conflicts (refportal's two statements), the documents with
their uploaders (one), the opening of the ratings on the audit trail (an INSERT, as refportal's page),
the reviews (and their earlier versions, where there are reviews), the audit trail (refportal's
statement), the referees' endorsements (refportal's statement), the assignments, the verdicts, and the
evidence entries (four): at most refportal's own count for the page (measured by `make bench`: the SQL
statements column of docs/benchmark.md). The rules are refportal's own functions (completeness, verdicts,
eligibility and evidence, fees, the conflicts, the flags and their settings, the matrix, what a reviewer
may see of the others' reviews) run on plain rows that lend them refportal's model properties
(floor.rows), with refportal's settings in the app's config. The chart is laid out here as
refportal.reviews.chart.build_chart lays it out: its labels are lazy translations, which need Flask-Babel."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import sqlalchemy as sa
from flask import Flask, abort, current_app, render_template, session

from floor import rows
from floor.common import connect, csrf_token
from refportal.accounts.models import Role, User
from refportal.applications import evidence as evidence_rules
from refportal.applications.eligibility import evaluate_eligibility
from refportal.applications.models import Application
from refportal.applications.verdicts import Requirement, RequirementVerdict, latest_clause
from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.db import utc_today
from refportal.documents.forms import SCAN_WORDS
from refportal.documents.models import Document
from refportal.documents.services import PORTFOLIO_PURPOSES
from refportal.membership.models import MembershipDeclaration, MembershipKind
from refportal.references.models import Rating, Reference
from refportal.references.rating_form import DOMAINS, SCALE
from refportal.reviews import file_page
from refportal.reviews.aggregation import build_matrix, file_flags
from refportal.reviews.chart import BAR_GAP, BAR_HEIGHT, POINT_WIDTH, ROW_PADDING
from refportal.reviews.conflicts import conflict_causes, recusals_statement, referees_statement
from refportal.reviews.models import Decision, Review, ReviewAssignment, ReviewRound, ReviewVersion
from refportal.reviews.staffing import Staffing
from refportal.submission.completeness import completeness_of
from refportal.submission.services import fees_for

# The settings the page's rules read (refportal's, as the benchmark runs it).
CONFIG = (
    "ELIGIBILITY_REQUIREMENTS",
    "FEE_SCHEDULE",
    "ENDORSEMENT_REINSTATEMENT_FEE",
    "REVIEW_HORIZON_DAYS",
    "NOT_ENOUGH_INFORMATION_LIMIT",
    "RATING_VALID_DAYS",
    "REFEREE_KNOWN_YEARS_MINIMUM",
    "REVIEWERS_PER_FILE",
    "REVIEWERS_READ_UNASSIGNED",
)
# The domains' titles: the English text of refportal's lazy strings (the floor has no Babel).
TITLES = {domain.key: domain.title._args[0] for domain in DOMAINS}
OUTCOMES = [(o.value, o.label) for o in Decision]
# Recommendation.label, in English (refportal's are lazy strings too).
RECOMMENDATIONS = {
    "recommend": "I recommend the applicant",
    "recommend_with_reservations": "I recommend the applicant with reservations",
    "do_not_recommend": "I do not recommend the applicant",
}


class _User(SimpleNamespace):
    is_staff = User.is_staff


class _Document(SimpleNamespace):
    may_be_served = Document.may_be_served
    size_label = Document.size_label
    shows_inline = Document.shows_inline


class _Staffing(SimpleNamespace):
    short = Staffing.short


class _Review(SimpleNamespace):
    can_be_changed = Review.can_be_changed
    can_be_reopened = Review.can_be_reopened


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
            a.eligibility_source,
            a.portfolio_id,
            a.reinstates_endorsement_id,
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


def _application(found) -> rows.Application:
    first = found[0]
    membership = None
    if first.m_id is not None:
        membership = rows.Membership(
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
    for row in found:
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
            rows.Reference(
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
    return rows.Application(
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
        eligibility_source=first.eligibility_source,
        portfolio_id=first.portfolio_id,
        reinstates_endorsement_id=first.reinstates_endorsement_id,
        membership=membership,
        references=references,
    )


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


# Built once: each request binds its values (SQLAlchemy's compiled cache then skips the rest).
VIEWER = sa.text(
    "SELECT id, name, role, email, organisation FROM user_account "
    "WHERE id = :id AND session_version = :version AND deactivated_at IS NULL"
)
REFEREES = referees_statement(sa.bindparam("applicant_id"), sa.bindparam("emails", expanding=True))
RECUSALS = recusals_statement(sa.bindparam("applicant_id"), sa.bindparam("reviewer_ids", expanding=True))
DOCUMENTS = (
    sa.select(
        *(
            getattr(Document, c)
            for c in (
                "id",
                "purpose",
                "filename",
                "content_type",
                "size",
                "uploaded_by_id",
                "uploaded_at",
                "scan_state",
            )
        ),
        User.name.label("uploader_name"),
        User.role.label("uploader_role"),
    )
    .outerjoin(User, User.id == Document.uploaded_by_id)
    .where(Document.application_id == sa.bindparam("application_id"), Document.purpose.in_(PORTFOLIO_PURPOSES))
    .order_by(Document.uploaded_at, Document.id)
)
REVIEWS = (
    sa.select(
        *(getattr(Review, c) for c in ("id", "reviewer_id", "outcome", "notes", "message", "recorded_at")),
        Review.cycle.label("cycle"),  # its column is "round"
        Review.locked_at,
        Review.reopened_at,
        User.name.label("reviewer_name"),
    )
    .join(User, User.id == Review.reviewer_id)
    .where(Review.application_id == sa.bindparam("application_id"))
    .order_by(Review.cycle, Review.recorded_at)
)
VERSIONS = (
    sa.select(
        *(getattr(ReviewVersion, c) for c in ("review_id", "outcome", "notes", "message", "recorded_at", "replaced_at"))
    )
    .where(ReviewVersion.review_id.in_(sa.bindparam("review_ids", expanding=True)))
    .order_by(ReviewVersion.id)
)
TRAIL = file_page.trail_statement(
    sa.bindparam("application_id"),
    sa.bindparam("reference_ids", expanding=True),
    *(getattr(AuditEvent, c) for c in ("occurred_at", "actor_id", "action", "object_type", "object_id", "details")),
    User.name.label("actor_name"),
)
READ = sa.insert(AuditEvent).values(
    occurred_at=sa.bindparam("now"),
    actor_id=sa.bindparam("viewer_id"),
    action=AuditAction.FILE_RATINGS_READ.value,
    object_type="application",
    object_id=sa.bindparam("application_id"),
    details={},
)
ENDORSEMENTS = file_page.endorsements_statement(sa.bindparam("emails", expanding=True))
ASSIGNMENTS = (
    sa.select(ReviewAssignment.reviewer_id, ReviewAssignment.assigned_at, User.name)
    .join(User, ReviewAssignment.reviewer_id == User.id)
    .where(ReviewAssignment.application_id == sa.bindparam("application_id"))
    .order_by(ReviewAssignment.assigned_at, ReviewAssignment.id)
)
VERDICTS = (
    sa.select(
        *(
            getattr(RequirementVerdict, c)
            for c in ("requirement", "version", "cycle", "verdict", "reason", "recorded_at")
        ),
        User.name.label("reviewer_name"),
    )
    .outerjoin(User, User.id == RequirementVerdict.reviewer_id)
    .where(RequirementVerdict.application_id == sa.bindparam("application_id"), latest_clause())
)


def _documents(found) -> list[tuple]:
    """refportal.reviews.file_documents' groups: each portfolio purpose with its documents, in order."""
    kept = [_Document(**{k: v for k, v in row._asdict().items() if not k.startswith("uploader_")}) for row in found]
    groups = [(purpose, [d for d in kept if d.purpose is purpose]) for purpose in PORTFOLIO_PURPOSES]
    return [(purpose, documents) for purpose, documents in groups if documents]


def _reviews(conn: sa.Connection, application_id: int) -> list[_Review]:
    found = conn.execute(REVIEWS, {"application_id": application_id}).all()
    versions: dict[int, list] = {}
    if found:
        for v in conn.execute(VERSIONS, {"review_ids": [r.id for r in found]}):
            versions.setdefault(v.review_id, []).append(v)
    return [
        _Review(
            **{k: v for k, v in r._asdict().items() if k != "reviewer_name"},
            reviewer=SimpleNamespace(name=r.reviewer_name),
            versions=versions.get(r.id, []),
        )
        for r in found
    ]


def register(app: Flask) -> None:
    app.config.update(rows.refportal_config(*CONFIG))

    @app.get("/review/applications/<int:application_id>")
    def application_file(application_id: int):
        today = utc_today()
        config = current_app.config
        with connect() as conn:
            found = conn.execute(VIEWER, _session_user()).first()
            if found is None or found.role not in ("reviewer", "admin"):
                abort(404)
            viewer = _User(**found._asdict())
            viewer.role = Role(viewer.role)
            if viewer.role is Role.ADMIN or not config["REVIEWERS_READ_UNASSIGNED"]:
                # The administrators' view (every reviewer's conflicts, assigning, the decision) is not
                # written, nor a reviewer's without REVIEWERS_READ_UNASSIGNED (it asks for the assignment).
                abort(501)
            found = conn.execute(FILE_STATEMENT, {"application_id": application_id}).all()
            if not found:
                abort(404)
            application = _application(found)
            if any(r.rating and r.rating.endorsement_number for r in application.references):
                abort(501)  # the registry's check of a referee's endorsement number is not drawn
            my_conflicts = conflict_causes(
                application,
                [viewer],
                conn.execute(REFEREES, {"applicant_id": application.applicant_id, "emails": [viewer.email.lower()]}),
                conn.execute(RECUSALS, {"applicant_id": application.applicant_id, "reviewer_ids": [viewer.id]}),
            )[viewer.id]
            may_read = not my_conflicts
            documents = conn.execute(DOCUMENTS, {"application_id": application.id}).all()
            reviews = _reviews(conn, application.id)
            trail = conn.execute(
                TRAIL,
                {"application_id": application.id, "reference_ids": [r.id for r in application.references]},
            ).all()
            if may_read and any(r.rating for r in application.references):
                # The opening of the ratings goes on the audit trail, as refportal's page records it. refportal
                # records it before reading the trail (its page lists its own opening); the floor reads the
                # trail first, so its page lists the trail as refportal's previous opening left it: the same
                # statements, and (opened one after the other, as check.py does) the same rows.
                conn.execute(READ, {"now": datetime.now(UTC), "viewer_id": viewer.id, "application_id": application.id})
                conn.commit()
            emails = [r.email for r in application.references]
            endorsements = file_page.endorsements_by_email(
                conn.execute(ENDORSEMENTS, {"emails": emails}) if emails else []
            )
            assignments = conn.execute(ASSIGNMENTS, {"application_id": application.id}).all()
            verdicts = {
                v.requirement: SimpleNamespace(
                    **{k: x for k, x in v._asdict().items() if k != "reviewer_name"},
                    reviewer=None if v.reviewer_name is None else SimpleNamespace(name=v.reviewer_name),
                )
                for v in conn.execute(VERDICTS, {"application_id": application.id})
            }
            rows.lend_portfolios(conn, [application])

        audit = [(event, SimpleNamespace(name=event.actor_name) if event.actor_name else None) for event in trail]
        reviews, audit = file_page.visible_to(application, viewer, reviews, audit)
        others_hidden = file_page.others_hidden(application, viewer, reviews)
        current = application.review_cycle
        mine = next((r for r in reviews if r.reviewer_id == viewer.id and r.cycle == current), None)
        others = any(r.reviewer_id != viewer.id and r.cycle == current for r in reviews)
        if mine and not (mine.locked_at or mine.reopened_at) and others:
            abort(501)  # refportal locks the viewer's review now that they read the others': not written
        reviewed_by = {r.reviewer_id for r in reviews if r.cycle == current}
        assigned = [
            SimpleNamespace(name=a.name, at=a.assigned_at, reviewed=a.reviewer_id in reviewed_by) for a in assignments
        ]
        evidence = evidence_rules.evidence_of(application) if application.from_entries else None
        matrix = build_matrix(application.references)
        membership = application.membership
        verification = {"member_number": "", "expires_on": ""}
        if membership is not None and membership.kind is MembershipKind.WILL_JOIN and membership.member_number:
            verification = {
                "member_number": membership.member_number,
                "expires_on": membership.expires_on.strftime("%Y-%m-%d") if membership.expires_on else "",
            }
        uploaders = {row.uploaded_by_id: _User(name=row.uploader_name, role=row.uploader_role) for row in documents}
        requirements = config["ELIGIBILITY_REQUIREMENTS"]
        return render_template(
            "application_file.html",
            user=viewer,
            csrf=csrf_token(),
            application=application,
            fees=fees_for(application, today),
            checks=evaluate_eligibility(application, requirements, evidence=evidence),
            evidence=evidence,
            completeness=completeness_of(application, today, requirements, verdicts),
            verdicts=verdicts,
            requirements=list(Requirement),
            membership_status=membership.status_on(today) if membership else None,
            matrix=matrix,
            chart=_chart(matrix),
            domains=[(domain.key, TITLES[domain.key]) for domain in DOMAINS],
            flags=file_flags(application, matrix, file_page.flag_rules(application, today), endorsements),
            endorsements=endorsements,
            documents=_documents(documents),
            uploaders=uploaders,
            scan_words=SCAN_WORDS,
            reviews=reviews,
            others_hidden=others_hidden,
            audit=audit,
            earlier_readings=file_page.earlier_readings(trail),
            readings_shown=file_page.READINGS_SHOWN,
            assigned=assigned,
            staffing=_Staffing(assigned=assigned, needed=config["REVIEWERS_PER_FILE"]),
            my_conflicts=my_conflicts,
            may_read_ratings=may_read,
            recused=any(cause.startswith("recused") for cause in my_conflicts),
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
