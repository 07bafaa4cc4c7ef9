"""The endorsee's renewal page (/endorsements/<number>/renewal): the period, the fees, the membership, the
year's entries, the declarations and the live checklist, with one POST endpoint per action. Only the
endorsement's holder reaches it (404 for anyone else's, or an unknown number)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_login import current_user

from refportal.accounts.models import Role
from refportal.accounts.permissions import role_required
from refportal.db import database_id, utc_today
from refportal.endorsements import renewals
from refportal.endorsements.models import Endorsement, Renewal
from refportal.endorsements.renewal_forms import (
    DeclarationsForm,
    RemoveEntryForm,
    RenewalMembershipForm,
    RenewalRscForm,
    RenewalTrainingForm,
    SubmitRenewalForm,
)
from refportal.endorsements.renewal_notices import cycle_dates
from refportal.endorsements.services import normalized_number
from refportal.extensions import db
from refportal.forms import ActionForm
from refportal.membership.models import Association
from refportal.payments.ledger import totals_of
from refportal.payments.views import payment_offer
from refportal.portfolio.models import RscFormat
from refportal.security.headers import mark_no_store
from refportal.web import attempt_and_flash, attempt_on_form, flash_success

bp = Blueprint("renewal", __name__, url_prefix="/endorsements/<endorsement_number>/renewal")


def held_endorsement(endorsement_number: str) -> Endorsement:
    """The current user's own endorsement with this number, or 404 (an unknown number, anyone else's)."""
    number = normalized_number(endorsement_number)
    endorsement = (
        db.session.scalar(sa.select(Endorsement).where(Endorsement.number == number)) if number is not None else None
    )
    if endorsement is None or endorsement.holder_id != current_user.id:
        abort(404)
    return endorsement


def _back(endorsement: Endorsement):
    return redirect(url_for("renewal.page", endorsement_number=endorsement.number))


def _started(endorsement: Endorsement) -> Renewal | None:
    """The current period's renewal; without one, the endorsee is sent to the page to start it."""
    renewal = renewals.current_renewal(endorsement)
    if renewal is None:
        flash(renewals.renewal_refusal(endorsement) or "Start your renewal first.", "error")
    return renewal


def _forms(renewal: Renewal | None) -> dict[str, Any]:
    """The page's forms, filled from the renewal as it is."""
    version = {"version": renewal.version} if renewal is not None else {}
    membership = RenewalMembershipForm(
        formdata=None,
        prefix="membership",
        data={
            **version,
            "association": renewal.association.value if renewal and renewal.association else "",
            "association_name": renewal.association_name if renewal else None,
            "member_number": renewal.member_number if renewal else None,
            "expires_on": renewal.membership_expires_on if renewal else None,
        },
    )
    declarations = DeclarationsForm(
        formdata=None,
        prefix="declarations",
        data={
            **version,
            "provides_rsc": renewal.provides_rsc if renewal else False,
            "attestations": list(renewal.attestations or []) if renewal else [],
        },
    )
    return {
        "membership_form": membership,
        "training_form": RenewalTrainingForm(formdata=None, prefix="training", data=version),
        "rsc_form": RenewalRscForm(formdata=None, prefix="rsc", data=version),
        "declarations_form": declarations,
        "remove_form": RemoveEntryForm(formdata=None, data=version),
        "submit_form": SubmitRenewalForm(formdata=None, data=version),
    }


def _page(endorsement: Endorsement, **posted: Any):
    """The renewal page; `posted`: a form the endorsee sent that was refused, shown with what they typed."""
    renewal = renewals.current_renewal(endorsement)
    forms = _forms(renewal)
    for name, form in posted.items():
        if renewal is not None:
            form.refresh_version(renewal.version)
        forms[name] = form
    forms["declarations_form"].set_attestations(renewals.configured_attestations())
    today = utc_today()
    context: dict[str, Any] = {
        "endorsement": endorsement,
        "renewal": renewal,
        "dates": cycle_dates(endorsement),
        "next_period_starts": endorsement.period_ends_on + timedelta(days=1),
        "refusal": renewals.renewal_refusal(endorsement, today),
        "renewed_until": renewals.renewed_until(endorsement) if renewal is None else None,
        "window": renewals.renewal_window(endorsement, today),
        "start_form": ActionForm(formdata=None),
        "hours": renewals.hours_text,
        **forms,
    }
    if renewal is not None:
        context["checklist"] = renewals.checklist(renewal)
        context["fees"] = renewals.renewal_fees(renewal, today)
        account = renewals.renewal_account(renewal, today, current_user)
        context["fee_account"] = account
        context["fee_totals"] = totals_of(account) if account is not None else None
        back = url_for("renewal.page", endorsement_number=endorsement.number)
        context["pay"] = payment_offer(account, came_from=back) if renewal.is_editable else None
    return mark_no_store(make_response(render_template("endorsements/renewal.html", **context)))


@bp.get("")
@role_required(Role.APPLICANT)
def page(endorsement_number: str):
    """The renewal of the current period as it stands, with its checklist recomputed on every load."""
    return _page(held_endorsement(endorsement_number))


@bp.post("/start")
@role_required(Role.APPLICANT)
def start(endorsement_number: str):
    """Start the renewal of the current period (or go back to the one started)."""
    endorsement = held_endorsement(endorsement_number)
    if not ActionForm().validate_on_submit():
        abort(400)
    attempt_and_flash(
        lambda: renewals.start_renewal(endorsement, current_user),
        "Your renewal is started: fill in each part, then submit it.",
    )
    return _back(endorsement)


def _form_action(
    endorsement_number: str,
    form_name: str,
    form: Any,
    service: Callable[..., object],
    success: str,
    arguments: Callable[[Any], dict[str, Any]],
):
    """A form's POST: the service through attempt_on_form, then back to the page; a form that is invalid
    or refused is shown again on the page with what was typed."""
    endorsement = held_endorsement(endorsement_number)
    renewal = _started(endorsement)
    if renewal is None:
        return _back(endorsement)
    if form.validate_on_submit():
        done, _ = attempt_on_form(
            form, service, renewal=renewal, actor=current_user, version=form.version.data, **arguments(form)
        )
        if done:
            flash_success(success)
            return _back(endorsement)
    if not form.errors and not form.form_errors:
        form.form_errors.append("Nothing was changed: check the form and send it again.")
    return _page(endorsement, **{form_name: form})


@bp.post("/membership")
@role_required(Role.APPLICANT)
def membership(endorsement_number: str):
    """Save the membership held for the next period."""
    return _form_action(
        endorsement_number,
        "membership_form",
        RenewalMembershipForm(prefix="membership"),
        renewals.save_membership,
        "Your membership is saved.",
        lambda form: {
            "association": Association(form.association.data),
            "association_name": form.association_name.data,
            "member_number": form.member_number.data,
            "expires_on": form.expires_on.data,
        },
    )


@bp.post("/training")
@role_required(Role.APPLICANT)
def add_training(endorsement_number: str):
    """Add one training of the year."""
    return _form_action(
        endorsement_number,
        "training_form",
        RenewalTrainingForm(prefix="training"),
        renewals.add_training,
        "The training is added.",
        lambda form: {
            "title": form.title.data,
            "provider": form.provider.data,
            "taken_on": form.taken_on.data,
            "hours": form.hours.data,
            "about_rsc": form.about_rsc.data,
            "about_dei": form.about_dei.data,
        },
    )


@bp.post("/rsc")
@role_required(Role.APPLICANT)
def add_rsc(endorsement_number: str):
    """Add reflective supervision/consultation received."""
    return _form_action(
        endorsement_number,
        "rsc_form",
        RenewalRscForm(prefix="rsc"),
        renewals.add_rsc,
        "The reflective supervision/consultation is added.",
        lambda form: {
            "provider": form.provider.data,
            "provider_credential": form.provider_credential.data,
            "starts_on": form.starts_on.data,
            "ends_on": form.ends_on.data,
            "hours": form.hours.data,
            "format": RscFormat(form.format.data),
        },
    )


@bp.post("/declarations")
@role_required(Role.APPLICANT)
def declarations(endorsement_number: str):
    """Whether the endorsee provides RSC, and the attestations signed."""
    form = DeclarationsForm(prefix="declarations")
    form.set_attestations(renewals.configured_attestations())
    return _form_action(
        endorsement_number,
        "declarations_form",
        form,
        renewals.save_declarations,
        "Your declarations are saved.",
        lambda form: {"provides_rsc": form.provides_rsc.data, "attestations": list(form.attestations.data or [])},
    )


def _button(endorsement_number: str, form: Any, action: Callable[[Endorsement, Renewal, Any], object], success: str):
    """A one-button action on the renewal: done and confirmed, or why not, then back to the page."""
    endorsement = held_endorsement(endorsement_number)
    renewal = _started(endorsement)
    if renewal is None:
        return _back(endorsement)
    if not form.validate_on_submit():
        messages = [message for errors in form.errors.values() for message in errors]
        flash(messages[0] if messages else "Nothing was changed: reload the page and try again.", "error")
        return _back(endorsement)
    attempt_and_flash(lambda: action(endorsement, renewal, form), success)
    return _back(endorsement)


@bp.post("/remove")
@role_required(Role.APPLICANT)
def remove_entry(endorsement_number: str):
    """Remove one of the renewal's entries."""
    return _button(
        endorsement_number,
        RemoveEntryForm(),
        lambda endorsement, renewal, form: renewals.remove_entry(
            renewal=renewal,
            actor=current_user,
            version=form.version.data,
            kind=form.kind.data,
            entry_id=database_id(form.entry_id.data),
        ),
        "The entry is removed.",
    )


@bp.post("/submit")
@role_required(Role.APPLICANT)
def submit(endorsement_number: str):
    """Send the renewal to staff (refused until every requirement is met)."""
    return _button(
        endorsement_number,
        SubmitRenewalForm(),
        lambda endorsement, renewal, form: renewals.submit_renewal(
            renewal=renewal, actor=current_user, version=form.version.data
        ),
        "Your renewal is submitted: staff will check it, and you will hear from them. A confirmation is on its way "
        "by e-mail.",
    )
