"""/r/<token>/step/<n>: a competency step of the referee's rating form (GET), and saving it (POST,
action=save, next or back: the step's answers merged into the draft, under the draft's version).

One statement reads the reference, its application and the applicant's name (refportal's own join);
saving writes what refportal writes: the reference (a conditional UPDATE on the link, the state and
the draft version read), its audit event, and the application's changed_at/updated_at. The merge is
refportal's own (refportal.references.steps.merge_step). The token is checked as
refportal.security.tokens does (itsdangerous, the same salt, digest, keys and max age), and a link that
does not lead to the form gets the same explanation page (invalid, expired, revoked, submitted,
declined, cancelled), in the same template.

Not covered (the floor answers 501): the steps without competencies (about you, the recommendation),
`?missing=1`, the page's automatic saves (autosave=1, answered in JSON), and the referee's pages in
another language than English (no bench reference has one)."""

from __future__ import annotations

import hashlib
import math
import os
import secrets
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import Flask, abort, flash, redirect, render_template, request, session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from markupsafe import Markup

from floor.common import connect, csrf_token, csrf_valid
from refportal.accounts.models import User
from refportal.applications.categories import CATEGORIES, Credential
from refportal.applications.models import Application
from refportal.audit.models import AuditEvent
from refportal.i18n import DEFAULT_LANGUAGE, LANGUAGES, SESSION_KEY
from refportal.references.forms import ANSWER_FIELDS, TEXT_LIMIT
from refportal.references.lifecycle import Event, ReferenceStatus, sources, uniform_target
from refportal.references.models import Reference
from refportal.references.rating_form import (
    DOMAINS,
    NOT_ENDORSED,
    NOT_ENOUGH_INFORMATION,
    NOT_ENOUGH_INFORMATION_LABEL,
    SCALE,
    Recommendation,
    item_text,
)
from refportal.references.roles import REFEREE_SIDE_LABELS
from refportal.references.steps import STEP_COUNT, STEPS, SUMMARY_STEP, merge_step, step

PURPOSE = "reference-rating"  # refportal.references.links.TOKEN_PURPOSE: the token's salt and "act"
MAX_AGE = int(os.environ.get("REFERENCE_LINK_MAX_AGE", "").strip() or 30 * 24 * 3600)  # refportal's default
FALLBACK_KEYS = [k.strip() for k in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if k.strip()]

R, A, U = Reference.__table__, Application.__table__, User.__table__
AUDIT = AuditEvent.__table__
LINK_WORKS = sources(Event.SAVE_DRAFT)  # where the link works: a draft may be saved

# The labels, in English, drawn once (refportal's lazy strings need Flask-Babel when they are drawn).
# A lazy string is not escaped in a template (its __html__ is itself): Markup keeps that.
SCALE_CHOICES = [
    (value, str(label)) for value, label in (*SCALE, (NOT_ENOUGH_INFORMATION, NOT_ENOUGH_INFORMATION_LABEL))
]
SCALE_NAMES = {value: Markup(str(label)) for value, label in SCALE}
NOT_ENOUGH = Markup(str(NOT_ENOUGH_INFORMATION_LABEL))
SECTIONS = {
    credential: [
        (Markup(str(domain.title)), [(item.key, item_text(item, credential)) for item in domain.items])
        for domain in DOMAINS
    ]
    for credential in (*Credential, None)
}
# Each competency step's statements, by credential.
STEP_SECTIONS = {
    credential: {
        current.number: [
            (Markup(str(domain.title)), [(item.key, item_text(item, credential)) for item in domain.items])
            for domain in current.domains
        ]
        for current in STEPS
    }
    for credential in Credential
}
ITEM_KEYS = [item.key for domain in DOMAINS for item in domain.items]
RECOMMENDATIONS = [(r.value, Markup(str(r.label))) for r in Recommendation]
REFEREE_ROLES = [(role.value, Markup(str(label))) for role, label in REFEREE_SIDE_LABELS.items()]
ENDORSEMENTS = [(NOT_ENDORSED, Markup("No"))] + [(c.value, Markup(c.short)) for c in Credential]
CATEGORY_VALUES = ["", *(str(n) for n in CATEGORIES)]
CHOICES = {
    "recommendation": {value for value, _ in RECOMMENDATIONS},
    "referee_role": {value for value, _ in REFEREE_ROLES},
    "endorsement": {value for value, _ in ENDORSEMENTS},
    "endorsed_category": set(CATEGORY_VALUES),
    **{f"item_{key}": {value for value, _ in SCALE_CHOICES} for key in ITEM_KEYS},
}
# (field, max length, free text over several lines?) for the text fields (all stripped).
TEXTS = {
    "strengths": (TEXT_LIMIT, True),
    "growth": (TEXT_LIMIT, True),
    "for_reviewers": (TEXT_LIMIT, True),
    "relationship_role": (160, False),
    "relationship_setting": (200, False),
    "endorsement_number": (40, False),
    "attestation_name": (120, False),
}

# WTForms' and refportal's messages (English).
NOT_A_CHOICE = "Not a valid choice."
NOT_A_DECIMAL = "Not a valid decimal value."
YEARS_RANGE = "Enter a number of years from 0 to 60."
TOO_LONG = "Field cannot be longer than {} characters."
SINGLE_LINE = "Use a single line of text, without line breaks or control characters."
PARAGRAPHS = "Remove the control characters from this text (they cannot be stored)."
CSRF_TIMEOUT_MESSAGE = (
    "This page was open for a long time, so it could not be sent safely. Nothing you typed is lost: "
    "everything is still below. Press the button again."
)
DRAFT_CONFLICT = (
    "Your answers were saved from another tab or window since this page was opened. "
    "What you typed here is still below: press the button again to keep it."
)
SAVED = "Your draft is saved. You can close this page and come back with the same link."
TYPED_KEYS = (
    "recommendation",
    "strengths",
    "growth",
    "for_reviewers",
    "relationship_role",
    "relationship_setting",
    "relationship_years",
    "endorsement_number",
    "attestation_name",
)

SELECT = sa.select(
    R.c.id,
    R.c.application_id,
    R.c.reuses_id,
    R.c.language,
    R.c.status,
    R.c.opened_at,
    R.c.link_nonce,
    R.c.draft,
    R.c.draft_version,
    A.c.credential,
    U.c.name.label("applicant_name"),
).select_from(R.outerjoin(A, A.c.id == R.c.application_id).outerjoin(U, U.c.id == A.c.applicant_id))


class Problem(Exception):
    """The link does not lead to the form (refportal's LinkProblem)."""

    def __init__(self, kind: str, status: int, row=None):
        super().__init__(kind)
        self.kind, self.status, self.row = kind, status, row


class NotCovered(Exception):
    """A case this floor does not draw (see the module's docstring)."""


def _use_language(stored: str | None) -> None:
    """refportal.i18n.use_referee_language: ?lang= switches (and is remembered), else the session, else
    `stored`; the floor draws English only."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session[SESSION_KEY] = asked
    chosen = session.get(SESSION_KEY) or stored
    if (chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE) != "en":
        raise NotCovered


def _reference(conn: sa.Connection, payload: dict):
    rid = payload.get("rid")
    row = conn.execute(SELECT.where(R.c.id == rid)).first() if isinstance(rid, int) else None
    if row is None:
        raise Problem("invalid", 400)
    if not row.link_nonce or not secrets.compare_digest(row.link_nonce, str(payload.get("n", ""))):
        if row.status is ReferenceStatus.CANCELLED:  # its request ended with the application
            _use_language(row.language)
            raise Problem("cancelled", 410, row)
        raise Problem("revoked", 410)
    return row


def _check_state(row) -> None:
    status = row.status
    if status is ReferenceStatus.SUBMITTED:
        raise Problem("submitted", 200, row)
    if status is ReferenceStatus.DECLINED:
        raise Problem("declined", 200, row)
    if status is ReferenceStatus.WITHDRAWN:
        raise Problem("revoked", 410)
    if status is ReferenceStatus.CANCELLED:
        raise Problem("cancelled", 410, row)
    if status is ReferenceStatus.EXPIRED:
        raise Problem("expired", 410, row)


def _resolve(conn: sa.Connection, serializer: URLSafeTimedSerializer, token: str):
    """The reference row behind a working link, else Problem (refportal's referee_views._resolve)."""
    _use_language(None)
    try:
        payload = serializer.loads(token, max_age=MAX_AGE)
    except SignatureExpired:
        _, payload = serializer.loads_unsafe(token)
        if not isinstance(payload, dict) or payload.get("act") != PURPOSE:
            raise Problem("invalid", 400) from None
        row = _reference(conn, payload)
        _use_language(row.language)
        _check_state(row)
        raise Problem("expired", 410, row) from None
    except (BadSignature, UnicodeError, ValueError):
        raise Problem("invalid", 400) from None
    if not isinstance(payload, dict) or payload.get("act") != PURPOSE:
        raise Problem("invalid", 400)
    row = _reference(conn, payload)
    _use_language(row.language)
    _check_state(row)
    return row


def _changed(conn: sa.Connection, row, action: str, now: datetime) -> None:
    """What refportal's audit record() brings with it: the event, and the application's changed_at."""
    conn.execute(
        AUDIT.insert().values(
            occurred_at=now, actor_id=None, action=action, object_type="reference", object_id=row.id, details={}
        )
    )
    conn.execute(A.update().where(A.c.id == row.application_id).values(changed_at=now, updated_at=now))


def _typed() -> dict:
    """What the referee sent to the form, unchecked (refportal.references.forms.typed_from_request)."""
    form = request.form
    typed = {field: form.get(field, "")[:TEXT_LIMIT] for field in ANSWER_FIELDS if field != "attest"}
    typed["items"] = {key: form.get(f"item_{key}") for key in ITEM_KEYS if form.get(f"item_{key}")}
    return typed


def _problem_page(problem: Problem, token: str):
    context = {"kind": problem.kind, "token": token, "draft": problem.row is not None and bool(problem.row.draft)}
    if problem.kind == "expired":
        context["csrf"] = csrf_token()
    if request.method == "POST" and problem.kind in ("revoked", "expired"):
        typed = _typed()
        if typed["items"] or any(value for key, value in typed.items() if key != "items"):
            credential = problem.row.credential if problem.row is not None else None
            context.update(
                typed=typed,
                sections=SECTIONS[credential],
                scale=SCALE_NAMES,
                not_enough=NOT_ENOUGH,
                keys=TYPED_KEYS,
            )
    return render_template("referee_step.html", **context), problem.status


def _control(value: str, paragraphs: bool) -> bool:
    return any(unicodedata.category(ch) == "Cc" and not (paragraphs and ch in "\r\n\t") for ch in value)


def _validated(form) -> tuple[dict, dict, dict]:
    """The rating form as WTForms validates it for a draft (nothing is required): the answers to
    store, the values to show back, and the errors by field."""
    answers: dict = {}
    values: dict = {}
    errors: dict = {}

    def choice(name: str) -> str | None:
        raw = form.getlist(name)
        data = raw[0] if raw else None
        if raw and raw[0] != "" and data not in CHOICES[name]:
            errors[name] = [NOT_A_CHOICE]
        return data

    def text(name: str) -> str | None:
        raw = form.getlist(name)
        data = raw[0].strip() if raw else None
        limit, paragraphs = TEXTS[name]
        problems = []
        if data and len(data) > limit:
            problems.append(TOO_LONG.format(limit))
        if data and _control(data, paragraphs):
            problems.append(PARAGRAPHS if paragraphs else SINGLE_LINE)
        if problems:
            errors[name] = problems
        values[name] = data or ""
        return data

    answers["recommendation"] = values["recommendation"] = choice("recommendation")
    for name in ("strengths", "growth", "for_reviewers", "relationship_role", "relationship_setting"):
        answers[name] = text(name)
    raw = form.getlist("relationship_years")
    years = None
    problems = []
    if raw:
        try:
            years = Decimal(raw[0])
        except (InvalidOperation, ValueError, TypeError):
            problems.append(NOT_A_DECIMAL)
    if raw and raw[0].strip():  # WTForms' Optional: a blank answer is none
        if years is None or math.isnan(years) or not 0 <= years <= 60:
            problems.append(YEARS_RANGE)
        if problems:
            errors["relationship_years"] = problems
    answers["relationship_years"] = str(years) if years is not None else (raw[0] if raw else "")
    values["relationship_years"] = raw[0] if raw else ""
    answers["referee_role"] = values["referee_role"] = choice("referee_role")
    answers["endorsement"] = values["endorsement"] = choice("endorsement")
    answers["endorsed_category"] = values["endorsed_category"] = choice("endorsed_category")
    answers["endorsement_number"] = text("endorsement_number")
    answers["attestation_name"] = text("attestation_name")
    attest = form.getlist("attest")
    answers["attest"] = values["attest"] = bool(attest) and attest[0] not in ("false", "")
    items = {key: choice(f"item_{key}") for key in ITEM_KEYS}
    answers["items"] = {key: value for key, value in items.items() if value}
    values["items"] = items
    return answers, values, errors


def _owned_errors(errors: dict, current) -> dict:
    """The errors of the answers `current` owns: refportal's step form holds only those fields
    (refportal.references.forms.step_form), so another step's answer sent along is not checked."""
    owned = {*current.fields, *(f"item_{key}" for key in current.item_keys)}
    return {name: messages for name, messages in errors.items() if name in owned}


def _step_page(row, token: str, current, items: dict, errors: dict, form_errors: list, status: int = 200):
    return render_template(
        "referee_step.html",
        kind=None,
        whole=False,
        token=token,
        applicant=row.applicant_name,
        step=current,
        step_count=STEP_COUNT,
        version=row.draft_version,
        csrf=csrf_token(),
        sections=STEP_SECTIONS[row.credential][current.number],
        scale=SCALE_CHOICES,
        items=items,
        errors=errors,
        messages_of_form=form_errors,
    ), status


def _conflict_page(row, token: str, current, values: dict):
    """The step as sent, saying a newer draft was saved from elsewhere (refportal's DraftConflict)."""
    return _step_page(row, token, current, values["items"], {}, [DRAFT_CONFLICT], 409)


def _saved_items(row) -> dict:
    """The saved draft's answers to the statements (refportal.references.forms.form_data_from_answers)."""
    return dict((row.draft or {}).get("items", {})) if row.draft else {}


def _posted_version(form) -> int | None:
    """The draft version the page was drawn from (refportal's referee_views._posted_version)."""
    try:
        return int(form["version"])
    except (KeyError, ValueError):
        return None


def _competency_step(number: int):
    """The step, when it is one this floor draws (a step of competency statements); else NotCovered."""
    current = step(number)
    if current is not None and not current.domains:
        raise NotCovered
    return current


def register(app: Flask) -> None:
    keys = [*FALLBACK_KEYS, app.secret_key]  # itsdangerous signs with the last, verifies with any
    serializer = URLSafeTimedSerializer(keys, salt=PURPOSE, signer_kwargs={"digest_method": hashlib.sha256})

    def no_store(response):
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    def problem_response(problem: Problem):
        return no_store(app.make_response(_problem_page(problem, request.view_args["token"])))

    @app.get("/r/<token>/step/<int:number>")
    def rating_step(token: str, number: int):
        try:
            with connect() as conn:
                try:
                    row = _resolve(conn, serializer, token)
                except Problem as problem:
                    return problem_response(problem)
            current = _competency_step(number)
            if row.reuses_id is not None or current is None:
                return no_store(redirect(f"/r/{token}/summary" if number == SUMMARY_STEP else f"/r/{token}"))
            if request.args.get("missing"):
                raise NotCovered
            return no_store(app.make_response(_step_page(row, token, current, _saved_items(row), {}, [])))
        except NotCovered:
            abort(501)

    @app.post("/r/<token>/step/<int:number>")
    def save_step(token: str, number: int):
        try:
            with connect() as conn:
                try:
                    row = _resolve(conn, serializer, token)
                except Problem as problem:
                    return problem_response(problem)
                form = request.form
                if form.get("autosave") == "1":
                    raise NotCovered
                current = _competency_step(number)
                if row.reuses_id is not None or current is None:
                    flash("That step does not exist. Here is the first step you have not finished.", "error")
                    return no_store(redirect(f"/r/{token}"))
                answers, values, errors = _validated(form)
                errors = _owned_errors(errors, current)
                form_errors = [] if csrf_valid(form.get("csrf_token")) else [CSRF_TIMEOUT_MESSAGE]
                if errors or form_errors:
                    page = _step_page(row, token, current, values["items"], errors, form_errors)
                    return no_store(app.make_response((page[0], 400 if form_errors else 200)))
                version = _posted_version(form)
                if version is not None and version != row.draft_version:
                    return no_store(app.make_response(_conflict_page(row, token, current, values)))
                now = datetime.now(UTC)
                changed = conn.execute(
                    R.update()
                    .where(
                        R.c.id == row.id,
                        R.c.link_nonce == row.link_nonce,
                        R.c.status.in_(LINK_WORKS),
                        R.c.draft_version == row.draft_version,
                    )
                    .values(
                        status=uniform_target(Event.SAVE_DRAFT),
                        draft=merge_step(row.draft, answers, current),
                        draft_version=row.draft_version + 1,
                        draft_saved_at=now,
                        opened_at=row.opened_at or now,
                    )
                ).rowcount
                if changed != 1:
                    still_open = conn.execute(
                        sa.select(sa.func.count(R.c.id)).where(
                            R.c.id == row.id, R.c.link_nonce == row.link_nonce, R.c.status.in_(LINK_WORKS)
                        )
                    ).scalar_one()
                    conn.rollback()
                    if still_open == 1:  # a newer draft was saved meanwhile (another tab)
                        return no_store(app.make_response(_conflict_page(row, token, current, values)))
                    try:  # answered or withdrawn meanwhile: the page that says so
                        _resolve(conn, serializer, token)
                    except Problem as problem:
                        return problem_response(problem)
                    return problem_response(Problem("revoked", 410))
                _changed(conn, row, "reference.draft_saved", now)
                conn.commit()
            action = form.get("action")
            if action == "back" and current.number > 1:
                return no_store(redirect(f"/r/{token}/step/{current.number - 1}"))
            if action == "save":
                flash(SAVED, "success")
                return no_store(redirect(f"/r/{token}/step/{current.number}"))
            if current.number == len(STEPS):
                return no_store(redirect(f"/r/{token}/summary"))
            return no_store(redirect(f"/r/{token}/step/{current.number + 1}"))
        except NotCovered:
            abort(501)
