"""Review rounds and assignment: the rounds and their progress, auto-assign, assigning by hand on a
file, and a reviewer's "My assigned files". (Recusal is a form of the file: reviews/views.py.)"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from refportal.accounts.models import Role, User
from refportal.accounts.permissions import role_required
from refportal.db import database_id, utc_today
from refportal.extensions import db
from refportal.forms import ActionForm
from refportal.reviews import assignments, conflicts, file_page, rounds, staffing
from refportal.reviews.forms import AssignForm, RoundForm
from refportal.reviews.models import ReviewAssignment, ReviewRound
from refportal.security.headers import mark_no_store
from refportal.transactions import attempt
from refportal.web import attempt_and_flash, attempt_on_form, flash_success

bp = Blueprint("rounds", __name__, url_prefix="/review")
STAFF = (Role.REVIEWER, Role.ADMIN)


@bp.after_request
def _private(response: Response) -> Response:
    return mark_no_store(response)


@bp.get("/mine")
@role_required(*STAFF)
def my_files() -> ResponseReturnValue:
    """The files assigned to me, with their rounds' due dates and whether I have reviewed them."""
    return render_template("reviews/my_files.html", files=staffing.my_files(current_user), today=utc_today())


def _rounds_page(form: RoundForm | None = None, status: int = 200) -> Response:
    today = utc_today()
    if form is None and current_user.role is Role.ADMIN:  # only administrators open rounds
        suggested = rounds.next_quarter(today)
        form = RoundForm(
            data={
                "name": suggested.name,
                "opens_on": suggested.opens_on,
                "submission_deadline": suggested.submission_deadline,
                "review_due": suggested.review_due,
            }
        )
    body = render_template("reviews/rounds.html", rounds=rounds.rounds_with_progress(today), form=form, today=today)
    return Response(body, status)


@bp.get("/rounds")
@role_required(*STAFF)
def index() -> ResponseReturnValue:
    """Every round with its progress; administrators open the next one."""
    return _rounds_page()


@bp.post("/rounds")
@role_required(Role.ADMIN)
def create() -> ResponseReturnValue:
    """Open a round (submitted applications of its period join it)."""
    form = RoundForm()
    if form.validate_on_submit():
        done, created = attempt_on_form(
            form,
            rounds.create_round,
            name=form.name.data,
            opens_on=form.opens_on.data,
            submission_deadline=form.submission_deadline.data,
            review_due=form.review_due.data,
            actor=current_user,
        )
        if done and created is not None:
            flash_success(f"Round {created.name} is open.")
            return redirect(url_for("rounds.show", round_id=created.id))
    return _rounds_page(form, 400)


def _round_or_404(round_id: int) -> ReviewRound:
    review_round = db.session.get(ReviewRound, round_id)
    if review_round is None:
        abort(404)
    return review_round


@bp.get("/rounds/<int:round_id>")
@role_required(*STAFF)
def show(round_id: int) -> ResponseReturnValue:
    """One round: its dates, progress, and each reviewer's load."""
    review_round = _round_or_404(round_id)
    today = utc_today()
    progress = next(p for r, p in rounds.rounds_with_progress(today) if r.id == review_round.id)
    return render_template(
        "reviews/round.html",
        review_round=review_round,
        progress=progress,
        load=staffing.round_load(review_round),
        action_form=ActionForm(),
        can_be_deleted=progress.files == 0 and rounds.can_be_deleted(review_round),
        today=today,
    )


@bp.post("/rounds/<int:round_id>/delete")
@role_required(Role.ADMIN)
def delete(round_id: int) -> ResponseReturnValue:
    """Delete a round no application has joined (opened by mistake, or with the wrong dates)."""
    review_round = _round_or_404(round_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    name = review_round.name
    if attempt_and_flash(
        lambda: rounds.delete_round(review_round=review_round, actor=current_user), f"Round {name} is deleted."
    ):
        return redirect(url_for("rounds.index"))
    return redirect(url_for("rounds.show", round_id=round_id))


@bp.post("/rounds/<int:round_id>/auto-assign")
@role_required(Role.ADMIN)
def auto_assign(round_id: int) -> ResponseReturnValue:
    """Give every undecided file of the round its reviewers, balancing the load, avoiding conflicts."""
    review_round = _round_or_404(round_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    outcome = attempt(lambda: assignments.auto_assign(review_round=review_round, actor=current_user))
    if outcome.refusal is not None:
        flash(outcome.refusal.message, "error")
    elif outcome.value is not None:
        report = outcome.value
        message = f"{report.assignments} assignment(s) made across {report.files} file(s); each reviewer is e-mailed."
        if report.short:
            message += f" {len(report.short)} file(s) still lack reviewers without a conflict: assign them by hand."
        flash_success(message)
    return redirect(url_for("rounds.show", round_id=review_round.id))


def _back_to_file(application_id: int) -> ResponseReturnValue:
    return redirect(url_for("reviews.application_file", application_id=application_id))


def _file_or_404(application_id: int):
    application = file_page.load_file(application_id)
    if application is None or not conflicts.may_open_file(application, current_user):
        abort(404)
    return application


@bp.post("/applications/<int:application_id>/assignments")
@role_required(Role.ADMIN)
def assign(application_id: int) -> ResponseReturnValue:
    """Assign a reviewer to the file by hand (they are e-mailed with the worker's next digest)."""
    application = _file_or_404(application_id)
    form = AssignForm()
    reviewer_id = database_id(form.reviewer.data)
    reviewer = db.session.get(User, reviewer_id) if reviewer_id is not None else None
    if not form.validate_on_submit() or reviewer is None:
        flash("Choose a reviewer to assign.", "error")
        return _back_to_file(application.id)
    attempt_and_flash(
        lambda: assignments.assign(application=application, reviewer=reviewer, actor=current_user),
        f"{reviewer.name} is assigned to this file.",
    )
    return _back_to_file(application.id)


@bp.post("/applications/<int:application_id>/assignments/<int:assignment_id>/remove")
@role_required(Role.ADMIN)
def unassign(application_id: int, assignment_id: int) -> ResponseReturnValue:
    application = _file_or_404(application_id)
    assignment = db.session.get(ReviewAssignment, assignment_id)
    if assignment is None or assignment.application_id != application.id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    name = assignment.reviewer.name
    attempt_and_flash(lambda: assignments.unassign(assignment=assignment, actor=current_user), f"{name} is unassigned.")
    return _back_to_file(application.id)
