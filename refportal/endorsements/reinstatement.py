"""Reinstating a lapsed endorsement: its holder opens a new application of the same credential, category
and mentor track, linked to the endorsement (`application.reinstates_endorsement_id`), which goes through
the references (three new ratings: none given before the lapse is reused) and the review as any other.
Endorsed, it reinstates the endorsement (the same number, a new period) instead of issuing a second one;
any other decision leaves it lapsed."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from refportal.accounts.models import User
from refportal.applications.lifecycle import ACTIVE, ApplicationStatus
from refportal.applications.models import Application
from refportal.applications.services import open_application
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.endorsements.lifecycle import Event, transition
from refportal.endorsements.models import Endorsement
from refportal.exceptions import Refused
from refportal.extensions import db


def open_reinstatement_of(endorsement: Endorsement) -> Application | None:
    """The open (not withdrawn, not decided) application reinstating the endorsement, if any."""
    return db.session.scalar(
        sa.select(Application).where(
            Application.reinstates_endorsement_id == endorsement.id, Application.status.in_(ACTIVE)
        )
    )


def why_not_reinstatable(endorsement: Endorsement) -> str | None:
    """Why the endorsement's holder cannot open its reinstatement now (None: they can)."""
    if not endorsement.can_be_reinstated:
        if endorsement.is_in_force:
            return (
                f"Your endorsement {endorsement.number} is {endorsement.status.label.lower()}: it is still in "
                "force, so there is nothing to reinstate (renew it instead)."
            )
        return (
            f"Your endorsement {endorsement.number} is {endorsement.status.label.lower()}: only a lapsed "
            "endorsement can be reinstated."
        )
    if open_reinstatement_of(endorsement) is not None:
        return f"You have opened the reinstatement of {endorsement.number} already: continue that application."
    return None


def open_reinstatement(*, endorsement: Endorsement, actor: User, now: datetime | None = None) -> Application:
    """Open the application that reinstates the holder's lapsed endorsement: a draft of the same
    credential, category and mentor track. Refused for anyone but the holder, an endorsement that is not
    lapsed, a second open reinstatement (also when two requests race: the endorsement's row is locked,
    and a partial unique index backs it), or while another application of the holder's is open."""
    if endorsement.holder_id != actor.id:
        raise Refused("Only the endorsement's holder can reinstate it.")
    # Two tabs at once: the second waits here for the first's transaction, then sees its application.
    db.session.refresh(endorsement, with_for_update=True)
    reason = why_not_reinstatable(endorsement)
    if reason is not None:
        raise Refused(reason)
    try:
        application = open_application(
            applicant=actor,
            credential=endorsement.credential,
            category=endorsement.category,
            mentor_track=endorsement.mentor_track,
            now=now,
            reinstates_endorsement_id=endorsement.id,
        )
        db.session.flush()
    except IntegrityError as exc:  # another request opened it first (the partial unique index); the
        # refusal rolls the request back (refportal.transactions.attempt)
        raise Refused(
            f"You have opened the reinstatement of {endorsement.number} already: continue that application."
        ) from exc
    record(
        AuditAction.ENDORSEMENT_REINSTATEMENT_OPENED,
        obj=endorsement,
        actor=actor,
        number=endorsement.number,
        application=application.id,
    )
    return application


def reinstate(*, application: Application, actor: User | None) -> Endorsement:
    """The endorsed reinstatement: the endorsement it names becomes active again (Event.REINSTATE), the same
    number, a new period from the decision to the renewal date (as issue_endorsement computes it).
    Refused (the decision with it) if the endorsement is no longer lapsed (revoked meanwhile)."""
    assert application.status is ApplicationStatus.ENDORSED and application.decided_at is not None
    endorsement = db.session.get(Endorsement, application.reinstates_endorsement_id)
    if endorsement is None:
        raise Refused("The endorsement this application reinstates no longer exists.")
    ends_on = application.renews_on(current_app.config["ENDORSEMENT_RENEWAL_MONTHS"])
    assert ends_on is not None
    before = transition(endorsement, Event.REINSTATE, at=application.decided_at)
    endorsement.period_starts_on = application.decided_at.date()
    endorsement.period_ends_on = ends_on
    record(
        AuditAction.ENDORSEMENT_REINSTATED,
        obj=endorsement,
        actor=actor,
        number=endorsement.number,
        before=before.value,
        application=application.id,
    )
    return endorsement


def reuse_cutoff(sender: object, *, application: Application) -> datetime | None:
    """Subscribed to applications.lifecycle.reuse_cutoff (in create_app): for a reinstatement, the moment
    its endorsement lapsed (no rating given before it may be reused)."""
    if application.reinstates_endorsement_id is None:
        return None
    endorsement = db.session.get(Endorsement, application.reinstates_endorsement_id)
    return endorsement.lapsed_at if endorsement is not None else None
