"""The referee's pages, reached only through the signed link: the rating form, the summary before
submitting, declining, and asking for a fresh link. GET never decides anything.

A link that does not lead to a form (tampered, expired, revoked, already answered) raises LinkProblem,
and so does a change that finds the reference closed in the meantime (LinkClosed): the blueprint's
error handlers show the page that explains it, with the referee's typed answers where they could not
be saved."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, Response, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import RequestEntityTooLarge

from refportal.applications.categories import Credential
from refportal.extensions import csrf
from refportal.i18n import use_referee_language
from refportal.references import answers as referee_answers
from refportal.references import links, referee_page, reuse
from refportal.references.competencies import competencies_html
from refportal.references.forms import (
    RATING_FORMS,
    ConfirmForm,
    DeclineForm,
    FreshLinkForm,
    RatingFormBase,
    ReuseConfirmForm,
    answers_from_form,
    form_data_from_answers,
    nomination_defaults,
    typed_from_request,
)
from refportal.references.models import Reference, ReferenceStatus
from refportal.references.rating_form import (
    DOMAINS,
    NOT_ENDORSED,
    NOT_ENOUGH_INFORMATION_LABEL,
    SCALE,
    Recommendation,
    item_text,
)
from refportal.references.roles import REFEREE_SIDE_LABELS, RefereeRole
from refportal.security.headers import mark_no_store
from refportal.security.tokens import TokenExpired, TokenInvalid
from refportal.transactions import attempt

bp = Blueprint("referee", __name__, url_prefix="/r")

CSRF_TIMEOUT_MESSAGE = _l(
    "This page was open for a long time, so it could not be sent safely. Nothing you typed is lost: "
    "everything is still below. Press the button again."
)
# Pages a referee may still act from: what they typed is shown back when it could not be saved.
GIVE_BACK_KINDS = ("revoked", "expired")


class LinkProblem(Exception):
    """The link does not lead to a form: `kind` says why (invalid, expired, revoked, submitted, declined)."""

    def __init__(self, kind: str, status: int, reference: Reference | None = None):
        super().__init__(kind)
        self.kind, self.status, self.reference = kind, status, reference


@bp.after_request
def _private(response: Response) -> Response:
    return mark_no_store(response)


@bp.errorhandler(LinkProblem)
def _link_problem(problem: LinkProblem) -> ResponseReturnValue:
    """The page that explains the link; after a refused POST of the rating form, with what was typed."""
    token = (request.view_args or {}).get("token")
    context = {
        "kind": problem.kind,
        "reference": problem.reference,
        "token": token,
        "form": FreshLinkForm() if problem.kind == "expired" else None,
    }
    typed = _typed_answers() if problem.kind in GIVE_BACK_KINDS else {}
    if typed.get("items") or any(value for key, value in typed.items() if key != "items"):
        reference = problem.reference
        context.update(
            typed=typed,
            domains=DOMAINS,
            item_text=item_text,
            scale=dict(SCALE),
            not_enough=NOT_ENOUGH_INFORMATION_LABEL,
            credential=reference.application.credential if reference is not None else None,
        )
    return render_template("referee/link_problem.html", **context), problem.status


def _typed_answers() -> dict:
    """What the referee sent to the rating form, unchecked (nothing for other pages or a body too large)."""
    if request.endpoint != "referee.save_or_review":
        return {}
    try:
        return typed_from_request(request.form)
    except RequestEntityTooLarge:
        return {}


@bp.errorhandler(links.LinkClosed)
def _closed(_: links.LinkClosed) -> ResponseReturnValue:
    """The reference was answered or withdrawn while the page was open: say so, show nothing of it."""
    try:
        _resolve((request.view_args or {})["token"])
    except LinkProblem as problem:
        return _link_problem(problem)
    return _link_problem(LinkProblem("revoked", 410))


def _resolve(token: str) -> Reference:
    """The reference behind a working link, else LinkProblem. Either way the referee's language is set."""
    use_referee_language(None)
    try:
        reference = links.reference_for_token(token)
    except TokenExpired as expired:
        reference = _expired_reference(expired)
        use_referee_language(reference.language)
        _check_state(reference)
        raise LinkProblem("expired", 410, reference) from None
    except links.LinkRevoked as revoked:
        raise _revoked(revoked) from None
    except TokenInvalid:
        raise LinkProblem("invalid", 400) from None
    use_referee_language(reference.language)
    _check_state(reference)
    return reference


def _expired_reference(expired: TokenExpired) -> Reference:
    try:
        return links.reference_for_expired_payload(expired.payload)
    except links.LinkRevoked as revoked:
        raise _revoked(revoked) from None
    except TokenInvalid:
        raise LinkProblem("invalid", 400) from None


def _revoked(revoked: links.LinkRevoked) -> LinkProblem:
    """A link whose nonce was cleared: its request was cancelled with the application, or replaced."""
    reference = revoked.reference
    if reference.status is ReferenceStatus.CANCELLED:
        use_referee_language(reference.language)
        return LinkProblem("cancelled", 410, reference)
    return LinkProblem("revoked", 410)


def _check_state(reference: Reference) -> None:
    """LinkProblem for a reference that can no longer be answered."""
    if reference.status is ReferenceStatus.SUBMITTED:
        raise LinkProblem("submitted", 200, reference)
    if reference.status is ReferenceStatus.DECLINED:
        raise LinkProblem("declined", 200, reference)
    if reference.status is ReferenceStatus.WITHDRAWN:
        raise LinkProblem("revoked", 410)
    if reference.status is ReferenceStatus.CANCELLED:
        raise LinkProblem("cancelled", 410, reference)
    if reference.status is ReferenceStatus.EXPIRED:
        raise LinkProblem("expired", 410, reference)


def _render_form(reference: Reference, token: str, form: RatingFormBase, status: int = 200) -> Response:
    application = reference.application
    return make_response(
        render_template(
            "referee/form.html",
            reference=reference,
            application=application,
            token=token,
            form=form,
            competencies_html=competencies_html(form, application.credential),
            deadline=links.link_deadline(reference),
        ),
        status,
    )


@bp.get("/<token>")
def rating_form(token: str) -> ResponseReturnValue:
    """The rating form, filled with the saved draft; opening it only records the first visit."""
    reference = _resolve(token)
    links.record_opened(reference)
    if reference.reuses_id is not None:
        return _render_reuse(reference, token)
    form = RATING_FORMS[reference.application.credential](
        data=form_data_from_answers(reference.draft, nomination_defaults(reference))
    )
    return _render_form(reference, token, form)


def _render_reuse(reference: Reference, token: str, problem: str | None = None, status: int = 200) -> Response:
    """A request to reuse an earlier rating: its date, and one button to confirm (or a link to decline)."""
    earlier = reuse.source_of(reference)
    return make_response(
        render_template(
            "referee/reuse.html",
            reference=reference,
            application=reference.application,
            earlier=earlier,
            still_valid=earlier is not None and earlier.rating is not None and reuse.is_still_valid(earlier.rating),
            token=token,
            form=ReuseConfirmForm(),
            problem=problem,
            deadline=links.link_deadline(reference),
        ),
        status,
    )


@bp.post("/<token>/reuse")
def confirm_reuse(token: str) -> ResponseReturnValue:
    """The referee confirms that their earlier rating stands for this application."""
    reference = _resolve(token)
    if reference.reuses_id is None:
        return redirect(url_for("referee.rating_form", token=token))
    outcome = attempt(lambda: referee_answers.confirm_reuse(reference=reference, nonce=_nonce(reference)))
    if outcome.refusal is not None:
        return _render_reuse(reference, token, outcome.refusal.message, 409)
    return render_template("referee/thanks.html", reference=reference, token=token, declined=False, reused=True)


@bp.post("/<token>")
@csrf.exempt  # checked by the form itself, so a timed-out token keeps every answer on the page
def save_or_review(token: str) -> ResponseReturnValue:
    """Save a draft, or check the answers and show the summary before the final submission."""
    reference = _resolve(token)
    if reference.reuses_id is not None:  # a reuse request is confirmed or declined, not filled in
        return redirect(url_for("referee.rating_form", token=token))
    form = RATING_FORMS[reference.application.credential]()
    if not form.validate():
        if form.csrf_token.errors:
            form.form_errors.append(CSRF_TIMEOUT_MESSAGE)
        return _render_form(reference, token, form, 400 if form.csrf_token.errors else 200)
    answers = answers_from_form(form)
    attempt(lambda: referee_answers.save_draft(reference=reference, nonce=_nonce(reference), answers=answers))
    if request.form.get("action") != "review":
        flash(_("Your draft is saved. You can close this page and come back with the same link."), "success")
        return redirect(url_for("referee.rating_form", token=token))
    problems = referee_answers.rating_problems(answers)
    if problems:
        for field, message in problems.items():
            getattr(form, field).errors = [*getattr(form, field).errors, message]
        form.form_errors.append(
            _("Some answers are missing: they are marked below. Your answers are saved as a draft.")
        )
        return _render_form(reference, token, form)
    return render_template(
        "referee/summary.html",
        reference=reference,
        token=token,
        answers=answers,
        domains=DOMAINS,
        item_text=item_text,
        scale=dict(SCALE),
        not_enough=NOT_ENOUGH_INFORMATION_LABEL,
        recommendation=Recommendation(answers["recommendation"]),
        application=reference.application,
        years=format_decimal(Decimal(str(answers["relationship_years"]))),
        referee_role_label=REFEREE_SIDE_LABELS[RefereeRole(answers["referee_role"])],
        endorsement_text=_endorsement_text(answers),
        form=ConfirmForm(digest=referee_answers.draft_digest(answers)),
    )


def _endorsement_text(answers: dict) -> str:
    if answers["endorsement"] == NOT_ENDORSED:
        return _("No")
    text = _(
        "%(credential)s, category %(category)s",
        credential=Credential(answers["endorsement"]).short,
        category=answers["endorsed_category"],
    )
    return f"{text} ({answers['endorsement_number']})" if answers.get("endorsement_number") else text


def _nonce(reference: Reference) -> str:
    return reference.link_nonce or ""  # a resolved link always has one; "" matches no row


@bp.post("/<token>/submit")
def submit(token: str) -> ResponseReturnValue:
    """The final confirmation: submit exactly the answers the summary showed."""
    reference = _resolve(token)
    form = ConfirmForm()
    if (
        reference.reuses_id is not None
        or not form.validate()
        or reference.draft is None
        or form.digest.data != referee_answers.draft_digest(reference.draft)
    ):
        flash(_("Your answers changed since the summary was shown: please check them and submit again."), "error")
        return redirect(url_for("referee.rating_form", token=token))
    draft = reference.draft
    outcome = attempt(
        lambda: referee_answers.submit_rating(reference=reference, nonce=_nonce(reference), answers=draft)
    )
    if not outcome.done:
        flash(_("Some answers are missing. Please complete them and submit again."), "error")
        return redirect(url_for("referee.rating_form", token=token))
    return render_template("referee/thanks.html", reference=reference, token=token, declined=False)


@bp.route("/<token>/decline", methods=["GET", "POST"])
@csrf.exempt  # checked by the form itself, so a timed-out page keeps the typed reason
def decline(token: str) -> ResponseReturnValue:
    """Decline to give a rating, with an optional reason."""
    reference = _resolve(token)
    form = DeclineForm()
    if form.validate_on_submit():
        reason = form.reason.data or ""
        attempt(lambda: referee_answers.decline_reference(reference=reference, nonce=_nonce(reference), reason=reason))
        return render_template("referee/thanks.html", reference=reference, token=token, declined=True)
    if form.csrf_token.errors:
        form.form_errors.append(CSRF_TIMEOUT_MESSAGE)
    elif request.method == "GET":
        links.record_opened(reference)
    return render_template(
        "referee/decline.html", reference=reference, token=token, form=form, application=reference.application
    )


@bp.route("/<token>/my-requests", methods=["GET", "POST"])
def ask_for_my_requests(token: str) -> ResponseReturnValue:
    """From any request link: e-mail this address a link to every request sent to it (GET shows the
    button: mail scanners only GET)."""
    reference = _genuine_reference(token)
    form = FreshLinkForm()
    if not form.validate_on_submit():
        return render_template("referee/my_requests_ask.html", reference=reference, token=token, form=form)
    outcome = attempt(lambda: referee_page.send_requests_page_link(reference=reference))
    if outcome.refusal is not None:
        return render_template("referee/my_requests_sent.html", message=outcome.refusal.message), 429
    return render_template("referee/my_requests_sent.html", message=None)


@bp.get("/requests/<token>")
def my_requests(token: str) -> ResponseReturnValue:
    """Every request sent to the address this sign-in link was sent to: open, drafted and answered."""
    use_referee_language(None)
    try:
        email, language = referee_page.address_for_token(token)
    except TokenExpired:
        return render_template("referee/my_requests_problem.html", expired=True), 410
    except TokenInvalid:
        return render_template("referee/my_requests_problem.html", expired=False), 400
    use_referee_language(language)
    return render_template("referee/my_requests.html", email=email, rows=referee_page.requests_for(email))


def _genuine_reference(token: str) -> Reference:
    """The reference any genuine request link names, whatever its state (expired or replaced too)."""
    use_referee_language(None)
    try:
        try:
            reference = links.reference_for_token(token)
        except TokenExpired as expired:
            reference = links.reference_for_expired_payload(expired.payload)
    except links.LinkRevoked as revoked:
        reference = revoked.reference
    except TokenInvalid:
        raise LinkProblem("invalid", 400) from None
    use_referee_language(reference.language)
    return reference


@bp.post("/<token>/fresh-link")
def fresh_link(token: str) -> ResponseReturnValue:
    """After the link expired: send a new one to the same address."""
    try:
        reference = _resolve(token)
    except LinkProblem as problem:
        if problem.kind != "expired" or problem.reference is None:
            raise
        reference = problem.reference
    else:
        if not links.link_has_expired(reference):
            return redirect(url_for("referee.rating_form", token=token))  # it still works
    if not FreshLinkForm().validate_on_submit():
        raise LinkProblem("expired", 400, reference)
    outcome = attempt(lambda: links.send_fresh_link(reference=reference))
    if outcome.refusal is not None:
        return render_template("referee/fresh_link_sent.html", message=outcome.refusal.message), 429
    return render_template("referee/fresh_link_sent.html", message=None)
