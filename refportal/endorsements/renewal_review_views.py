"""Staff's renewal pages at /staff/renewals (administrators: association staff, as the roster and the mail
console's changes): the queue, one renewal with its checklist, and the decisions on it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from refportal.accounts.models import Role
from refportal.accounts.permissions import role_required
from refportal.config import RENEWAL_ATTESTATIONS
from refportal.endorsements import renewal_review
from refportal.endorsements.lifecycle import IN_FORCE
from refportal.endorsements.models import Renewal
from refportal.endorsements.renewal_notices import cycle_dates
from refportal.endorsements.renewal_review_forms import (
    ApproveRenewalForm,
    MoreRenewalForm,
    RefuseRenewalForm,
    RenewalMembershipForm,
    RenewalQueueForm,
)
from refportal.security.headers import mark_no_store
from refportal.transactions import attempt
from refportal.web import filter_args, flash_success, show_refusal

bp = Blueprint("renewal_review", __name__, url_prefix="/staff/renewals")
STAFF = (Role.ADMIN,)


@bp.after_request
def _private(response: Response) -> Response:
    return mark_no_store(response)


@bp.get("/")
@role_required(*STAFF)
def queue():
    """The renewals, those waiting for staff first (the oldest submission first), filtered and paged."""
    form = RenewalQueueForm(request.args)
    form.validate()

    def value(name: str) -> Any:
        field = getattr(form, name)
        return None if field.errors else field.data

    filters = renewal_review.RenewalFilters(
        status=value("status") or "", credential=value("credential") or "", late=value("late") or ""
    )
    page = renewal_review.queue_page(
        filters,
        page=value("page") or 1,
        per_page=current_app.config["QUEUE_PAGE_SIZE"],
        count_limit=current_app.config["QUEUE_COUNT_LIMIT"],
    )
    args = filter_args(form)
    return render_template("endorsements/staff_renewal_queue.html", form=form, queue=page, args=args)


def _renewal_or_404(renewal_id: int) -> Renewal:
    renewal = renewal_review.load_renewal(renewal_id)
    if renewal is None:
        abort(404)
    return renewal


def _forms(renewal: Renewal, **given: Any) -> dict[str, Any]:
    version = {"version": renewal.version}
    forms = {
        "approve_form": ApproveRenewalForm(prefix="approve", data=version),
        "more_form": MoreRenewalForm(prefix="more", data=version),
        "refuse_form": RefuseRenewalForm(prefix="refuse", data=version),
        "membership_form": RenewalMembershipForm(prefix="membership", data=version),
    }
    forms.update(given)
    return forms


def _render(renewal: Renewal, *, status: int = 200, refusal: str | None = None, **given: Any) -> Response:
    endorsement = renewal.endorsement
    page = render_template(
        "endorsements/staff_renewal.html",
        renewal=renewal,
        endorsement=endorsement,
        checks=renewal_review.checklist(renewal),
        earlier=renewal_review.earlier_renewals(renewal),
        dates=cycle_dates(endorsement) if endorsement.status in IN_FORCE else None,
        next_period=renewal_review.next_period(endorsement),
        decided_by=renewal_review.user_name(renewal.decided_by_id),
        verified_by=renewal_review.user_name(renewal.membership_verified_by_id),
        refusal=refusal,
        attestation_texts=RENEWAL_ATTESTATIONS,
        **_forms(renewal, **given),
    )
    return Response(page, status=status)


@bp.get("/<int:renewal_id>")
@role_required(*STAFF)
def renewal(renewal_id: int):
    """One renewal: entries, membership and attestations beside the checklist; the decisions."""
    return _render(_renewal_or_404(renewal_id))


def _act(renewal_id: int, form, form_name: str, action, success: str):
    """Run a decision: go back to the renewal with `success`, or show the page again with the refusal
    on the form (nothing changed)."""
    renewal = _renewal_or_404(renewal_id)
    if not form.validate_on_submit():
        return _render(renewal, status=400, **{form_name: form})
    outcome = attempt(lambda: action(renewal, form))
    if outcome.refusal is not None:
        renewal = _renewal_or_404(renewal_id)  # as it is now (the refusal rolled back what was tried)
        if isinstance(outcome.refusal, renewal_review.RenewalChanged):
            # Decided or changed from another page: shown anew, with its current version.
            return _render(renewal, status=409, refusal=outcome.refusal.message)
        show_refusal(form, outcome.refusal)
        return _render(renewal, status=400, **{form_name: form})
    flash_success(success)
    return redirect(url_for("renewal_review.renewal", renewal_id=renewal_id))


@bp.post("/<int:renewal_id>/approve")
@role_required(*STAFF)
def approve(renewal_id: int):
    """Approve: the endorsement is renewed for its next period and the endorsee told."""
    return _act(
        renewal_id,
        ApproveRenewalForm(prefix="approve"),
        "approve_form",
        lambda renewal, form: renewal_review.approve_renewal(
            renewal=renewal, version=form.version.data, actor=current_user
        ),
        "The renewal is approved: the endorsement has its next period and the endorsee is told.",
    )


@bp.post("/<int:renewal_id>/more")
@role_required(*STAFF)
def request_more(renewal_id: int):
    """Ask the endorsee for more: the renewal goes back to them with the message."""
    return _act(
        renewal_id,
        MoreRenewalForm(prefix="more"),
        "more_form",
        lambda renewal, form: renewal_review.request_more(
            renewal=renewal, version=form.version.data, actor=current_user, message=form.message.data
        ),
        "The renewal is sent back to the endorsee with your message.",
    )


@bp.post("/<int:renewal_id>/refuse")
@role_required(*STAFF)
def refuse(renewal_id: int):
    """Refuse, with the reason: the endorsement runs on through grace and lapses when it ends."""
    return _act(
        renewal_id,
        RefuseRenewalForm(prefix="refuse"),
        "refuse_form",
        lambda renewal, form: renewal_review.refuse_renewal(
            renewal=renewal, version=form.version.data, actor=current_user, reason=form.message.data
        ),
        "The renewal is refused and the endorsee is told.",
    )


@bp.post("/<int:renewal_id>/membership")
@role_required(*STAFF)
def membership(renewal_id: int):
    """Verify or reject the membership the renewal declares, with a note."""
    return _act(
        renewal_id,
        RenewalMembershipForm(prefix="membership"),
        "membership_form",
        lambda renewal, form: renewal_review.verify_renewal_membership(
            renewal=renewal,
            version=form.version.data,
            actor=current_user,
            verified=form.verdict.data == "verify",
            note=form.note.data,
        ),
        "The renewal's membership is recorded.",
    )
