"""The referee's pages, reached only through the signed link: the rating form, the summary before
submitting, declining, and asking for a fresh link. GET never decides anything.

A link that does not lead to a form (tampered, expired, revoked, already answered) raises LinkProblem,
and so does a change that finds the reference closed in the meantime (LinkClosed): the blueprint's
error handlers show the page that explains it, with the referee's typed answers where they could not
be saved."""

from __future__ import annotations

from decimal import Decimal

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from refportal.applications.categories import Credential
from refportal.extensions import csrf
from refportal.i18n import lazy_gettext as _l
from refportal.i18n import use_referee_language
from refportal.references import answers as referee_answers
from refportal.references import links, prefill, referee_page, reuse, steps
from refportal.references import printable as printable_form
from refportal.references.competencies import competencies_html
from refportal.references.forms import (
    ConfirmForm,
    DeclineForm,
    FreshLinkForm,
    RatingFormBase,
    ReuseConfirmForm,
    answers_from_form,
    form_data_from_answers,
    nomination_defaults,
    step_form,
    typed_from_request,
)
from refportal.references.models import Reference, ReferenceStatus
from refportal.references.rating_form import (
    DOMAINS,
    LOW_SCORE,
    NOT_ENDORSED,
    NOT_ENOUGH_INFORMATION,
    NOT_ENOUGH_INFORMATION_LABEL,
    SCALE,
    Recommendation,
    item_text,
)
from refportal.references.roles import REFEREE_SIDE_LABELS, RefereeRole
from refportal.references.steps import Step
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
    if request.endpoint not in ("referee.save_or_review", "referee.save_step"):
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


def _render_step(reference: Reference, token: str, current: Step, form: RatingFormBase, status: int = 200) -> Response:
    """One step of the rating form, with the progress, back and next."""
    application = reference.application
    return make_response(
        render_template(
            "referee/step.html",
            reference=reference,
            application=application,
            token=token,
            form=form,
            step=current,
            step_count=steps.STEP_COUNT,
            version=reference.draft_version,
            competencies_html=competencies_html(form, application.credential, current.domains)
            if current.domains
            else None,
            deadline=links.link_deadline(reference),
        ),
        status,
    )


def _saved_form(reference: Reference, shown: Step) -> RatingFormBase:
    """The rating form filled with the saved draft, over what the nomination (and the referee's own
    earlier ratings, when the step `shown` draws one of the details they fill in) said."""
    defaults = nomination_defaults(reference)
    if prefill.PREFILLED.intersection(shown.fields):
        defaults.update(prefill.earlier_details(reference))
    form_class = step_form(reference.application.credential, shown)
    return form_class(data=form_data_from_answers(reference.draft, defaults))


@bp.get("/<token>")
def rating_form(token: str) -> ResponseReturnValue:
    """The first step not yet answered (the summary when every answer is in), filled with the saved
    draft; opening it only records the first visit."""
    reference = _resolve(token)
    links.record_opened(reference)
    if reference.reuses_id is not None:
        return _render_reuse(reference, token)
    if reference.draft is None:
        return _render_step(reference, token, steps.STEPS[0], _saved_form(reference, steps.STEPS[0]))
    first = steps.first_step_with_problems(referee_answers.rating_problems(reference.draft))
    if first is None:
        return _render_summary(reference, token, reference.draft)
    return _render_step(reference, token, first, _saved_form(reference, first))


@bp.get("/<token>/step/<int:number>")
def rating_step(token: str, number: int) -> ResponseReturnValue:
    """One step of the form; `?missing=1` marks what this step still lacks for submitting."""
    reference = _resolve(token)
    current = steps.step(number)
    if reference.reuses_id is not None or current is None:
        return redirect(
            url_for("referee.summary" if number == steps.SUMMARY_STEP else "referee.rating_form", token=token)
        )
    form = _saved_form(reference, current)
    if request.args.get("missing") and reference.draft is not None:
        problems = referee_answers.rating_problems(reference.draft)
        mine = {field: message for field, message in problems.items() if steps.step_of_problem(field) is current}
        _mark(form, mine)
        if mine:
            form.form_errors.append(_("Some answers are missing: they are marked below."))
    return _render_step(reference, token, current, form)


def _mark(form: RatingFormBase, problems: dict[str, str]) -> None:
    for field, message in problems.items():
        getattr(form, field).errors = [*getattr(form, field).errors, message]


@bp.post("/<token>/step/<int:number>")
@csrf.exempt  # checked by the form itself, so a timed-out token keeps every answer on the page
def save_step(token: str, number: int) -> ResponseReturnValue:
    """Save one step's answers into the draft (merged: other steps' answers stay), then go on, back,
    or stay. `autosave=1` (the page's script, as answers are given) answers in JSON."""
    reference = _resolve(token)
    current = steps.step(number)
    autosave = request.form.get("autosave") == "1"
    if reference.reuses_id is not None or current is None:
        if autosave:
            return jsonify(message=_("This page cannot be saved.")), 404
        flash(_("That step does not exist. Here is the first step you have not finished."), "error")
        return redirect(url_for("referee.rating_form", token=token))
    form = step_form(reference.application.credential, current)()  # only this step's answers are saved
    if not form.validate():
        if autosave:
            return jsonify(message=_("Some answers could not be saved yet.")), 400
        if form.csrf_token.errors:
            form.form_errors.append(CSRF_TIMEOUT_MESSAGE)
        return _render_step(reference, token, current, form, 400 if form.csrf_token.errors else 200)
    answers = answers_from_form(form)
    version = _posted_version()
    outcome = attempt(
        lambda: referee_answers.save_step(
            reference=reference, nonce=_nonce(reference), answers=answers, owned=current, version=version
        )
    )
    if outcome.refusal is not None:
        if autosave:
            return jsonify(message=outcome.refusal.message), 409
        form.form_errors.append(outcome.refusal.message)
        return _render_step(reference, token, current, form, 409)
    if autosave:
        return jsonify(version=outcome.value)
    action = request.form.get("action")
    if action == "back" and current.number > 1:
        return redirect(url_for("referee.rating_step", token=token, number=current.number - 1))
    if action == "save":
        flash(_("Your draft is saved. You can close this page and come back with the same link."), "success")
        return redirect(url_for("referee.rating_step", token=token, number=current.number))
    if current.number == len(steps.STEPS):
        return redirect(url_for("referee.summary", token=token))
    return redirect(url_for("referee.rating_step", token=token, number=current.number + 1))


def _posted_version() -> int | None:
    """The draft version the page was drawn from (None from a page that does not say)."""
    try:
        return int(request.form["version"])
    except (KeyError, ValueError):
        return None


@bp.get("/<token>/printable")
def printable(token: str) -> ResponseReturnValue:
    """The rating form as a blank page to print, for this request (its applicant named)."""
    reference = _resolve(token)
    return render_template(
        "referee/printable.html",
        application=reference.application,
        reference=reference,
        **printable_form.blank_form_context(reference.application.credential),
    )


@bp.get("/<token>/summary")
def summary(token: str) -> ResponseReturnValue:
    """The summary before submitting; while answers are missing, the first step that lacks one."""
    reference = _resolve(token)
    if reference.reuses_id is not None or reference.draft is None:
        return redirect(url_for("referee.rating_form", token=token))
    first = steps.first_step_with_problems(referee_answers.rating_problems(reference.draft))
    if first is not None:
        return redirect(url_for("referee.rating_step", token=token, number=first.number, missing=1))
    return _render_summary(reference, token, reference.draft)


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
    """The whole form at once (every step's answers): save a draft, or check the answers and show
    the summary before the final submission."""
    reference = _resolve(token)
    if reference.reuses_id is not None:  # a reuse request is confirmed or declined, not filled in
        return redirect(url_for("referee.rating_form", token=token))
    whole = steps.WHOLE_FORM
    form = step_form(reference.application.credential, whole)()
    if not form.validate():
        if form.csrf_token.errors:
            form.form_errors.append(CSRF_TIMEOUT_MESSAGE)
        return _render_step(reference, token, whole, form, 400 if form.csrf_token.errors else 200)
    answers = answers_from_form(form)
    outcome = attempt(
        lambda: referee_answers.save_step(
            reference=reference, nonce=_nonce(reference), answers=answers, owned=None, version=_posted_version()
        )
    )
    if outcome.refusal is not None:
        form.form_errors.append(outcome.refusal.message)
        return _render_step(reference, token, whole, form, 409)
    if request.form.get("action") != "review":
        flash(_("Your draft is saved. You can close this page and come back with the same link."), "success")
        return redirect(url_for("referee.rating_form", token=token))
    problems = referee_answers.rating_problems(answers)
    if problems:
        _mark(form, problems)
        form.form_errors.append(
            _("Some answers are missing: they are marked below. Your answers are saved as a draft.")
        )
        return _render_step(reference, token, whole, form)
    return _render_summary(reference, token, answers)


def _render_summary(reference: Reference, token: str, answers: dict) -> Response:
    """Every answer, what reviewers will question (many "not enough information" answers, very low
    scores beside a recommendation), and the one button that submits exactly these answers."""
    limit = current_app.config["NOT_ENOUGH_INFORMATION_LIMIT"]
    recommendation = Recommendation(answers["recommendation"])
    return make_response(
        render_template(
            "referee/summary.html",
            reference=reference,
            token=token,
            answers=answers,
            domains=DOMAINS,
            item_text=item_text,
            scale=dict(SCALE),
            not_enough=NOT_ENOUGH_INFORMATION_LABEL,
            recommendation=recommendation,
            application=reference.application,
            years=format_decimal(Decimal(str(answers["relationship_years"]))),
            referee_role_label=REFEREE_SIDE_LABELS[RefereeRole(answers["referee_role"])],
            endorsement_text=_endorsement_text(answers),
            form=ConfirmForm(digest=referee_answers.draft_digest(answers)),
            step_count=steps.STEP_COUNT,
            step_of_item=steps.step_of_item,
            not_enough_items=referee_answers.not_enough_information_items(answers),
            not_enough_limit=limit,
            low_items=referee_answers.low_items_beside_recommendation(answers),
            low_score=LOW_SCORE,
            rating_counts=_rating_counts(answers),
            items_by_key={item.key: item for domain in DOMAINS for item in domain.items},
        )
    )


def _rating_counts(answers: dict) -> list[tuple[str, int]]:
    """How many statements got each answer, in the scale's order (answers given at least once)."""
    given = list(answers["items"].values())
    labels = [*SCALE, (NOT_ENOUGH_INFORMATION, NOT_ENOUGH_INFORMATION_LABEL)]
    return [(str(label), given.count(value)) for value, label in labels if value in given]


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
