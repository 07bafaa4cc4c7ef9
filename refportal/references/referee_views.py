"""The referee's pages, reached only through the signed link: the rating form, the summary before
submitting, declining, and asking for a fresh link. GET never decides anything."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, Response, flash, make_response, redirect, render_template, request, url_for
from flask_babel import format_decimal, gettext as _, lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from refportal.db import utcnow
from refportal.exceptions import Refused
from refportal.extensions import csrf, db
from refportal.i18n import use_referee_language
from refportal.references import services
from refportal.references.competencies import competencies_html
from refportal.references.forms import (
    RATING_FORMS,
    ConfirmForm,
    DeclineForm,
    FreshLinkForm,
    answers_from_form,
    form_data_from_answers,
    typed_from_request,
)
from refportal.references.models import Reference, ReferenceStatus
from refportal.references.rating_form import (
    DOMAINS,
    NOT_ENOUGH_INFORMATION_LABEL,
    SCALE,
    Recommendation,
    item_text,
)
from refportal.security.headers import mark_no_store
from refportal.security.tokens import TokenExpired, TokenInvalid

bp = Blueprint("referee", __name__, url_prefix="/r")

CSRF_TIMEOUT_MESSAGE = _l(
    "This page was open for a long time, so it could not be sent safely. Nothing you typed is lost: "
    "everything is still below. Press the button again."
)


@bp.after_request
def _private(response: Response) -> Response:
    return mark_no_store(response)


def _problem(kind: str, status: int, reference: Reference | None = None, token: str | None = None) -> Response:
    context = {"kind": kind, "reference": reference, "token": token,
               "form": FreshLinkForm() if kind == "expired" else None}
    response = make_response(render_template("referee/link_problem.html", **context), status)
    response.problem_context = context  # so _give_back can show the same page with the typed answers
    return response


def _resolve(token: str) -> Reference | Response:
    """The reference behind a working link, or the page that explains why the link does not work.
    Either way the page speaks the referee's language."""
    use_referee_language(None)
    try:
        reference = services.reference_for_token(token)
    except TokenExpired as expired:
        try:
            reference = services.reference_for_expired_payload(expired.payload)
        except services.LinkRevoked:
            return _problem("revoked", 410)
        except TokenInvalid:
            return _problem("invalid", 400)
        use_referee_language(reference.language)
        return _state_page(reference, token) or _problem("expired", 410, reference, token)
    except services.LinkRevoked:
        return _problem("revoked", 410)
    except TokenInvalid:
        return _problem("invalid", 400)
    use_referee_language(reference.language)
    return _state_page(reference, token) or reference


def _state_page(reference: Reference, token: str) -> Response | None:
    """A page for a reference that can no longer be answered; None while the link works."""
    if reference.status is ReferenceStatus.SUBMITTED:
        return _problem("submitted", 200, reference)
    if reference.status is ReferenceStatus.DECLINED:
        return _problem("declined", 200, reference)
    if reference.status is ReferenceStatus.WITHDRAWN:
        return _problem("revoked", 410)
    if reference.status is ReferenceStatus.EXPIRED:
        return _problem("expired", 410, reference, token)
    return None


def _render_form(reference: Reference, token: str, form, status: int = 200) -> Response:
    application = reference.application
    return make_response(render_template(
        "referee/form.html", reference=reference, application=application, token=token, form=form,
        competencies_html=competencies_html(form, application.credential), deadline=services.link_deadline(reference),
    ), status)


@bp.get("/<token>")
def rating_form(token: str):
    """The rating form, filled with the saved draft; opening it only records the first visit."""
    reference = _resolve(token)
    if not isinstance(reference, Reference):
        return reference
    if services.record_opened(reference):
        db.session.commit()
    form = RATING_FORMS[reference.application.credential](data=form_data_from_answers(reference.draft))
    return _render_form(reference, token, form)


@bp.post("/<token>")
@csrf.exempt  # checked by the form itself, so a timed-out token keeps every answer on the page
def save_or_review(token: str):
    """Save a draft, or check the answers and show the summary before the final submission."""
    reference = _resolve(token)
    if not isinstance(reference, Reference):
        return _give_back(reference, typed_from_request(request.form), None)
    form = RATING_FORMS[reference.application.credential]()
    if not form.validate():
        if form.csrf_token.errors:
            form.form_errors.append(CSRF_TIMEOUT_MESSAGE)
        return _render_form(reference, token, form, 400 if form.csrf_token.errors else 200)
    answers = answers_from_form(form)
    try:
        services.save_draft(reference=reference, nonce=reference.link_nonce, answers=answers)
    except services.LinkClosed:
        db.session.rollback()
        return _give_back(_closed(token), answers, reference.application.credential)
    db.session.commit()
    if request.form.get("action") != "review":
        flash(_("Your draft is saved. You can close this page and come back with the same link."), "success")
        return redirect(url_for("referee.rating_form", token=token))
    problems = services.rating_problems(answers)
    if problems:
        for field, message in problems.items():
            getattr(form, field).errors = [*getattr(form, field).errors, message]
        form.form_errors.append(_("Some answers are missing: they are marked below. Your answers are saved as a draft."))
        return _render_form(reference, token, form)
    return render_template(
        "referee/summary.html", reference=reference, token=token, answers=answers, domains=DOMAINS,
        item_text=item_text, scale=dict(SCALE), not_enough=NOT_ENOUGH_INFORMATION_LABEL,
        recommendation=Recommendation(answers["recommendation"]), application=reference.application,
        years=format_decimal(Decimal(str(answers["relationship_years"]))),
        form=ConfirmForm(digest=services.draft_digest(answers)),
    )


@bp.post("/<token>/submit")
def submit(token: str):
    """The final confirmation: submit exactly the answers the summary showed."""
    reference = _resolve(token)
    if not isinstance(reference, Reference):
        return reference
    form = ConfirmForm()
    if not form.validate() or reference.draft is None or form.digest.data != services.draft_digest(reference.draft):
        flash(_("Your answers changed since the summary was shown: please check them and submit again."), "error")
        return redirect(url_for("referee.rating_form", token=token))
    try:
        services.submit_rating(reference=reference, nonce=reference.link_nonce, answers=reference.draft)
        db.session.commit()
    except (services.LinkClosed, IntegrityError):
        db.session.rollback()
        return _closed(token)
    except Refused:
        db.session.rollback()
        flash(_("Some answers are missing. Please complete them and submit again."), "error")
        return redirect(url_for("referee.rating_form", token=token))
    return render_template("referee/thanks.html", reference=reference, declined=False)


@bp.route("/<token>/decline", methods=["GET", "POST"])
@csrf.exempt  # checked by the form itself, so a timed-out page keeps the typed reason
def decline(token: str):
    """Decline to give a rating, with an optional reason."""
    reference = _resolve(token)
    if not isinstance(reference, Reference):
        return reference
    form = DeclineForm()
    if form.validate_on_submit():
        try:
            services.decline_reference(reference=reference, nonce=reference.link_nonce, reason=form.reason.data or "")
            db.session.commit()
        except services.LinkClosed:
            db.session.rollback()
            return _closed(token)
        return render_template("referee/thanks.html", reference=reference, declined=True)
    if form.csrf_token.errors:
        form.form_errors.append(CSRF_TIMEOUT_MESSAGE)
    elif request.method == "GET":
        services.record_opened(reference)
        db.session.commit()
    return render_template("referee/decline.html", reference=reference, token=token, form=form,
                           application=reference.application)


@bp.post("/<token>/fresh-link")
def fresh_link(token: str):
    """After the link expired: send a new one to the same address."""
    use_referee_language(None)
    try:
        try:
            reference = services.reference_for_token(token)
        except TokenExpired as expired:
            reference = services.reference_for_expired_payload(expired.payload)
    except TokenInvalid:
        return _problem("invalid", 400)
    except services.LinkRevoked:
        return _problem("revoked", 410)
    if reference.status is not ReferenceStatus.EXPIRED and utcnow() < services.link_deadline(reference):
        return redirect(url_for("referee.rating_form", token=token))  # it still works
    if not FreshLinkForm().validate_on_submit():
        return _problem("expired", 400, reference, token)
    try:
        services.send_fresh_link(reference=reference)
    except services.LinkClosed:
        db.session.rollback()
        return _state_page(reference, token) or _problem("revoked", 410)
    except Refused as refusal:
        db.session.rollback()
        return make_response(render_template("referee/fresh_link_sent.html", message=refusal.message), 429)
    db.session.commit()
    return render_template("referee/fresh_link_sent.html", message=None)


def _closed(token: str) -> Response:
    """The reference was answered or withdrawn in the meantime: say so, show nothing of it."""
    page = _resolve(token)
    return _problem("revoked", 410) if isinstance(page, Reference) else page


def _give_back(page: Response, typed: dict, credential) -> Response:
    """When a revoked or expired link refuses what the referee sent, show them what they had typed."""
    context = getattr(page, "problem_context", None)
    anything = typed.get("items") or any(value for key, value in typed.items() if key != "items")
    if context is None or context["kind"] not in ("revoked", "expired") or not anything:
        return page
    if context["reference"] is not None:
        credential = context["reference"].application.credential
    return make_response(render_template(
        "referee/link_problem.html", **context, typed=typed, domains=DOMAINS, item_text=item_text,
        credential=credential, scale=dict(SCALE), not_enough=NOT_ENOUGH_INFORMATION_LABEL), page.status_code)
