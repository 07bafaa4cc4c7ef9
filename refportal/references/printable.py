"""The rating form as a printable blank page: every statement with its scale as boxes to tick, the
overall recommendation, lines to write on, and the signature. A referee prints it from their link;
staff print one per credential to send by post."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue

from refportal.accounts.models import Role
from refportal.accounts.permissions import role_required
from refportal.applications.categories import Credential
from refportal.references.competencies import scale_choices
from refportal.references.rating_form import DOMAINS, Recommendation, item_text
from refportal.references.roles import REFEREE_SIDE_LABELS

bp = Blueprint("blank_forms", __name__, url_prefix="/blank-forms")


def blank_form_context(credential: Credential) -> dict:
    """What the printable page draws (in the current language)."""
    return {
        "credential": credential,
        "domains": DOMAINS,
        "item_text": item_text,
        "scale": scale_choices(),
        "recommendations": [r.label for r in Recommendation],
        "referee_roles": [str(label) for label in REFEREE_SIDE_LABELS.values()],
        "credentials": list(Credential),
    }


@bp.get("/")
@role_required(Role.REVIEWER, Role.ADMIN)
def index() -> ResponseReturnValue:
    """Staff: the blank forms, one per credential, to print and send by post."""
    return render_template("references/blank_forms.html", credentials=list(Credential))


@bp.get("/<credential>")
@role_required(Role.REVIEWER, Role.ADMIN)
def blank_form(credential: str) -> ResponseReturnValue:
    """Staff: the printable blank form for one credential (no applicant named)."""
    try:
        chosen = Credential(credential)
    except ValueError:
        abort(404)
    return render_template("referee/printable.html", application=None, reference=None, **blank_form_context(chosen))
