"""The reviewer workspace: queue, application file, membership verification, reviews, decisions."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from refportal.accounts.models import Role
from refportal.accounts.permissions import role_required
from refportal.applications.eligibility import evaluate_eligibility
from refportal.applications.verdicts import Requirement, Verdict, current_verdicts
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import utc_today
from refportal.extensions import db
from refportal.forms import ActionForm, choices
from refportal.membership.models import MembershipKind
from refportal.membership.services import verify_membership
from refportal.references.rating_form import DOMAINS, SCALE, item_text
from refportal.reviews import assignments, conflicts, decisions, exports, file_page, queue_query, rounds, verification
from refportal.reviews.aggregation import build_matrix, file_flags
from refportal.reviews.chart import build_chart
from refportal.reviews.forms import (
    AssignForm,
    DecisionForm,
    QueueFilterForm,
    RecuseForm,
    RequirementVerdictForm,
    ReviewForm,
    VerificationForm,
)
from refportal.reviews.models import Decision, Review
from refportal.reviews.queue_eligibility import eligibility_of
from refportal.reviews.staffing import Staffing, staffing_of
from refportal.security.headers import mark_no_store
from refportal.submission.completeness import completeness_of
from refportal.submission.services import fees_for
from refportal.transactions import attempt
from refportal.web import attempt_and_flash, csv_download, filter_args, flash_success, show_refusal

bp = Blueprint("reviews", __name__, url_prefix="/review")
STAFF = (Role.REVIEWER, Role.ADMIN)


@bp.after_request
def _private(response: Response) -> Response:
    return mark_no_store(response)


def _queue_form() -> QueueFilterForm:
    """The queue's filter form, read from the query string, with the rounds to choose from."""
    form = QueueFilterForm(request.args)
    form.review_round.choices = choices([("", "Any")] + [(str(r.id), r.name) for r in rounds.round_names()])
    return form


def _filters(form: QueueFilterForm) -> queue_query.QueueFilters:
    """The valid filters; a field with an error is left out (and its message shown)."""
    form.validate()
    return queue_query.filters_from(
        {field.name: None if field.errors else field.data for field in form},
        viewer_id=current_user.id,
        viewer_is_admin=current_user.role is Role.ADMIN,
        read_unassigned=current_app.config["REVIEWERS_READ_UNASSIGNED"],
    )


@bp.get("/")
@role_required(*STAFF)
def queue():
    """Every application, filtered, searched, sorted and paged."""
    form = _queue_form()
    filters = _filters(form)
    today = utc_today()
    queue_page = queue_query.queue_page(
        filters,
        page=form.page.data if request.args.get("page") and not form.page.errors else None,
        after=request.args.get("after"),  # a link's cursor (keyset): checked by the query
        before=request.args.get("before"),
        per_page=current_app.config["QUEUE_PAGE_SIZE"],
        today=today,
        count_limit=current_app.config["QUEUE_COUNT_LIMIT"],
        rules=queue_query.QueueRules.from_config(current_app.config),
    )
    requirements = current_app.config["ELIGIBILITY_REQUIREMENTS"]
    eligibility = eligibility_of([row.application for row in queue_page.rows], requirements, today)
    args = filter_args(form, without=queue_query.PAGE_ARGS)
    return render_template(
        "reviews/queue.html", form=form, queue=queue_page, args=args, eligibility=eligibility, today=today
    )


@bp.get("/export.csv")
@role_required(*STAFF)
def queue_export():
    """The queue as filtered, as CSV."""
    filters = _filters(_queue_form())
    rules = queue_query.QueueRules.from_config(current_app.config)
    return csv_download(exports.queue_csv(filters, utc_today(), rules), "refportal-queue.csv")


def _file_or_404(application_id: int):
    """The file, if this staff member may open it (see conflicts.may_open_file)."""
    application = file_page.load_file(application_id)
    if application is None or not conflicts.may_open_file(application, current_user):
        abort(404)
    return application


def assign_form_for(staffing: Staffing) -> AssignForm:
    form = AssignForm()
    form.reviewer.choices = choices([("", "Choose a reviewer")] + [(str(r.id), r.name) for r in staffing.candidates])
    return form


def _may_read_ratings(application) -> bool:
    """Nobody with a conflict of interest reads a file's ratings or narratives."""
    return not conflicts.conflicts_with(application, current_user)


def _note_ratings_read(application) -> None:
    """Every opening of a file's confidential rating content is on the audit trail (who, when)."""
    record(AuditAction.FILE_RATINGS_READ, obj=application, actor=current_user)


@bp.get("/applications/<int:application_id>")
@role_required(*STAFF)
def application_file(application_id: int):
    """The whole file: details, fees, eligibility, membership, references, ratings, flags, reviews, audit."""
    return _render_file(_file_or_404(application_id))


def _render_file(
    application,
    *,
    review_form=None,
    decision_form=None,
    verification_form=None,
    recuse_form=None,
    verdict_form=None,
    verdict_requirement=None,
    status=200,
):
    """The file page (also again, with a refused form's messages: the refused change was rolled back).
    Showing the ratings records who read them, committed with the request once the page is drawn."""
    today = utc_today()
    every_review = file_page.reviews_of(application)
    staffing = staffing_of(application, current_user, every_review)
    if not staffing.my_conflicts and any(r.rating for r in application.references):
        record(AuditAction.FILE_RATINGS_READ, obj=application, actor=current_user)
    matrix = build_matrix(application.references)
    trail, earlier_readings = file_page.audit_trail(application)
    reviews, audit = file_page.visible_to(application, current_user, every_review, trail)
    decisions.lock_after_reading_others(application, current_user, reviews)
    endorsements = file_page.endorsements_of([r.email for r in application.references])
    registry_checks = file_page.referee_registry_checks(application)
    mine = next((r for r in reviews if r.reviewer_id == current_user.id and r.cycle == application.review_cycle), None)
    if review_form is None:
        review_form = ReviewForm(
            data={"outcome": mine.outcome.value, "notes": mine.notes, "message": mine.message} if mine else None
        )
    evidence = file_page.evidence_of(application)
    verdicts = current_verdicts(application.id)
    verdict_forms = {requirement: _verdict_form(requirement, verdicts.get(requirement)) for requirement in Requirement}
    if verdict_form is not None and verdict_requirement is not None:
        verdict_forms[verdict_requirement] = verdict_form  # the refused one, with its messages
    body = render_template(
        "reviews/file.html",
        application=application,
        today=today,
        fees=fees_for(application, today),
        checks=evaluate_eligibility(application, current_app.config["ELIGIBILITY_REQUIREMENTS"], evidence=evidence),
        evidence=evidence,
        membership_status=application.membership.status_on(today) if application.membership else None,
        matrix=matrix,
        chart=build_chart(matrix),
        domains=DOMAINS,
        scale=dict(SCALE),
        item_text=item_text,
        flags=file_flags(application, matrix, file_page.flag_rules(application, today), endorsements),
        endorsements=endorsements,
        registry_checks=registry_checks,
        reviews=reviews,
        others_hidden=file_page.others_hidden(application, current_user, reviews),
        audit=audit,
        earlier_readings=earlier_readings,
        readings_shown=file_page.READINGS_SHOWN,
        staffing=staffing,
        may_read_ratings=not staffing.my_conflicts,
        assign_form=assign_form_for(staffing),
        recuse_form=recuse_form or RecuseForm(),
        action_form=ActionForm(),
        review_form=review_form,
        my_review=mine,
        decision_form=decision_form or DecisionForm(prefix="decision"),
        verification_form=verification_form or _verification_form(application),
        completeness=completeness_of(application, today, current_app.config["ELIGIBILITY_REQUIREMENTS"], verdicts),
        verdicts=verdicts,
        verdict_forms=verdict_forms,
        requirements=Requirement,
        is_admin=current_user.role is Role.ADMIN,
        outcomes=Decision,
    )
    return Response(body, status)


def _verification_form(application) -> VerificationForm:
    """Empty, or for a confirmed new membership ("will join") its recorded number and expiry."""
    declaration = application.membership
    if declaration is not None and declaration.kind is MembershipKind.WILL_JOIN and declaration.member_number:
        return VerificationForm(data={"member_number": declaration.member_number, "expires_on": declaration.expires_on})
    return VerificationForm()


def _verdict_form(requirement: Requirement, current, formdata=None) -> RequirementVerdictForm:
    """The verdict form of one requirement, carrying the version of the current verdict the page shows."""
    version = current.version if current is not None else 0
    if formdata is None:
        return RequirementVerdictForm(prefix=f"verdict-{requirement.value}", formdata=None, data={"version": version})
    return RequirementVerdictForm(prefix=f"verdict-{requirement.value}")


@bp.get("/applications/<int:application_id>/ratings.csv")
@role_required(*STAFF)
def ratings_export(application_id: int):
    """The ratings of one application, as CSV."""
    application = _file_or_404(application_id)
    if not _may_read_ratings(application):
        abort(404)
    _note_ratings_read(application)
    return _csv_response(exports.ratings_csv(application), f"refportal-application-{application.id}-ratings.csv")


@bp.post("/applications/<int:application_id>/membership")
@role_required(*STAFF)
def verify(application_id: int):
    """Verify or reject the declared membership, with a note."""
    application = _file_or_404(application_id)
    form = VerificationForm()
    if not form.validate_on_submit():
        return _render_file(application, verification_form=form, status=400)

    def verify_unconflicted():
        conflicts.check_unconflicted(application, current_user)  # a conflicted reviewer verifies nothing
        return verify_membership(
            application=application,
            actor=current_user,
            verified=form.verdict.data == "verify",
            note=form.note.data or "",
            today=utc_today(),
            member_number=form.member_number.data or None,
            expires_on=form.expires_on.data,
        )

    return _act(
        application,
        verify_unconflicted,
        "The membership is recorded.",
        form=form,
        form_name="verification_form",
    )


@bp.post("/applications/<int:application_id>/verdicts/<requirement>")
@role_required(*STAFF)
def record_verdict(application_id: int, requirement: str):
    """Record a verdict on one requirement of the file: verified, not verified or needs more (with the reason)."""
    application = _file_or_404(application_id)
    try:
        item = Requirement(requirement)
    except ValueError:
        abort(404)
    if conflicts.conflicts_with(application, current_user):
        abort(404)  # a conflicted staff member acts on nothing in the file
    form = _verdict_form(item, None, formdata=True)
    if not form.validate_on_submit():
        return _render_file(application, verdict_form=form, verdict_requirement=item, status=400)
    version = form.version.data or ""
    if not version.isdigit() or len(version) > 9:
        abort(400)
    outcome = attempt(
        lambda: verification.record_verdict(
            application=application,
            requirement=item,
            verdict=Verdict(form.verdict.data),
            reason=form.reason.data or "",
            reviewer=current_user,
            seen_version=int(version),
        )
    )
    if outcome.refusal is not None:
        show_refusal(form, outcome.refusal)
        if outcome.refusal.message == verification.STALE:  # the form now carries the current verdict's version
            current = current_verdicts(application.id).get(item)
            form.version.data = str(current.version if current else 0)
        return _render_file(
            file_page.load_file(application.id), verdict_form=form, verdict_requirement=item, status=400
        )
    flash_success(f"Your verdict on {item.label.lower()} is recorded.")
    return redirect(url_for("reviews.application_file", application_id=application.id, _anchor="verification"))


@bp.post("/applications/<int:application_id>/review")
@role_required(*STAFF)
def review(application_id: int):
    """Record this reviewer's recommendation."""
    application = _file_or_404(application_id)
    form = ReviewForm()
    if not form.validate_on_submit():
        return _render_file(application, review_form=form, status=400)
    return _act(
        application,
        lambda: decisions.record_review(
            application=application,
            reviewer=current_user,
            outcome=Decision(form.outcome.data),
            notes=form.notes.data or "",
            message=form.message.data or "",
        ),
        "Your review is recorded.",
        form=form,
        form_name="review_form",
    )


@bp.post("/applications/<int:application_id>/decision")
@role_required(Role.ADMIN)
def decide(application_id: int):
    """The administrator records the final decision; the applicant is told by e-mail."""
    application = _file_or_404(application_id)
    form = DecisionForm(prefix="decision")
    if not form.validate_on_submit():
        return _render_file(application, decision_form=form, status=400)

    def decide_unconflicted():
        conflicts.check_unconflicted(application, current_user)
        return decisions.apply_decision(
            application=application,
            outcome=Decision(form.outcome.data),
            message=form.message.data or "",
            actor=current_user,
        )

    return _act(
        application,
        decide_unconflicted,
        "The decision is recorded and the applicant is told.",
        form=form,
        form_name="decision_form",
    )


@bp.post("/applications/<int:application_id>/reviews/<int:review_id>/reopen")
@role_required(Role.ADMIN)
def reopen_review(application_id: int, review_id: int):
    """Reopen a reviewer's locked review for one change (both versions stay in the file's history)."""
    application = _file_or_404(application_id)
    review = db.session.get(Review, review_id)
    if review is None or review.application_id != application.id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    name = review.reviewer.name
    attempt_and_flash(
        lambda: decisions.reopen_review(review=review, application=application, actor=current_user),
        f"{name}'s review is reopened: they can change it once.",
    )
    return redirect(url_for("reviews.application_file", application_id=application.id))


@bp.post("/applications/<int:application_id>/recuse")
@role_required(*STAFF)
def recuse(application_id: int):
    """Declare a conflict of interest with the file: no longer assigned, no ratings, no review."""
    application = _file_or_404(application_id)
    form = RecuseForm()
    if not form.validate_on_submit():
        return _render_file(application, recuse_form=form, status=400)
    return _act(
        application,
        lambda: assignments.recuse(application=application, reviewer=current_user, reason=form.reason.data or ""),
        "You have recused yourself from this file.",
        form=form,
        form_name="recuse_form",
    )


def _act(application, action, success: str, *, form, form_name: str):
    """Run a file action: commit and go back to the file, or show the refusal on the form."""
    outcome = attempt(action)
    if outcome.refusal is not None:
        show_refusal(form, outcome.refusal)
        return _render_file(file_page.load_file(application.id), status=400, **{form_name: form})
    flash_success(success)
    return redirect(url_for("reviews.application_file", application_id=application.id))


def _csv_response(text: str, filename: str) -> Response:
    response = Response(text, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
