"""Issuing endorsements (with their numbers) and the endorsee's registry choices."""

from __future__ import annotations

import functools
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from refportal.accounts.models import User
from refportal.applications.categories import Credential
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import utcnow
from refportal.endorsements.lifecycle import EndorsementStatus
from refportal.endorsements.models import Endorsement, EndorsementChange, RegistryListing
from refportal.endorsements.reinstatement import reinstate
from refportal.extensions import db

# Crockford's base 32 (no I, L, O, U: nothing to misread). Eight random characters: 32^8 ≈ 1.1 × 10^12
# numbers per credential, so a guessed number finds an endorsement about once in 10^8 tries per
# 10,000 endorsees — numbers cannot be enumerated, whether their holders are listed or not.
NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NUMBER_LENGTH = 8
NUMBER_PREFIX = {Credential.IMH_E: "IMH", Credential.ECMH_E: "ECMH"}
NUMBER_PATTERN = re.compile(r"(IMH|ECMH)-[0-9A-HJKMNP-TV-Z]{8}")


def new_number(credential: Credential) -> str:
    """A fresh random endorsement number no endorsement has (e.g. IMH-7K3QX9P2)."""
    while True:
        number = (
            NUMBER_PREFIX[credential] + "-" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(NUMBER_LENGTH))
        )
        if db.session.scalar(sa.select(Endorsement.id).where(Endorsement.number == number)) is None:
            return number


def normalized_number(text: str) -> str | None:
    """A typed endorsement number in its stored form (upper case, spaces dropped), or None when it
    cannot be one."""
    number = re.sub(r"\s+", "", text or "").upper()
    return number if NUMBER_PATTERN.fullmatch(number) else None


def issue_endorsement(*, application: Application, actor: User | None) -> Endorsement:
    """The endorsement record of an endorsed application: a new number, the current period from the
    decision to the renewal date. Issued once per application."""
    existing = db.session.scalar(sa.select(Endorsement).where(Endorsement.application_id == application.id))
    if existing is not None:
        return existing
    assert application.status is ApplicationStatus.ENDORSED and application.decided_at is not None
    ends_on = application.renews_on(current_app.config["ENDORSEMENT_RENEWAL_MONTHS"])
    assert ends_on is not None
    issued_on = application.decided_at.date()
    endorsement = Endorsement(
        number=new_number(application.credential),
        holder_id=application.applicant_id,
        application_id=application.id,
        credential=application.credential,
        category=application.category,
        mentor_track=application.mentor_track,
        issued_on=issued_on,
        period_starts_on=issued_on,
        period_ends_on=ends_on,
        status=EndorsementStatus.ACTIVE,
        status_changed_at=application.decided_at,
    )
    db.session.add(endorsement)
    db.session.add(
        EndorsementChange(
            endorsement=endorsement, status=EndorsementStatus.ACTIVE, event="issue", changed_at=application.decided_at
        )
    )
    record(AuditAction.ENDORSEMENT_ISSUED, obj=endorsement, actor=actor, number=endorsement.number)
    return endorsement


def issue_on_endorsement(sender: object, *, application: Application, actor: User | None) -> None:
    """Subscribed to applications.lifecycle.closed (in create_app): an endorsed file gets its record, or,
    for a reinstatement, reinstates the lapsed endorsement it names (the same number, a new period).
    (An application that was never stored, as the lifecycle's own tests move, has no file to endorse.)"""
    if application.status is ApplicationStatus.ENDORSED and application.id is not None:
        if application.reinstates_endorsement_id is not None:
            reinstate(application=application, actor=actor)
        else:
            issue_endorsement(application=application, actor=actor)


def held_endorsement(holder: User, number: str) -> Endorsement | None:
    """The holder's endorsement with that number (typed in any case), or None: no such number, a
    malformed one, or someone else's (not found, whether it exists or not)."""
    normalized = normalized_number(number)
    if normalized is None:
        return None
    return db.session.scalar(
        sa.select(Endorsement).where(Endorsement.number == normalized, Endorsement.holder_id == holder.id)
    )


@functools.cache
def holder_endorsements_statement() -> sa.Select:
    """Built once (the applicant's dashboard asks on every visit): a request only binds the holder."""
    return (
        sa.select(Endorsement)
        .where(Endorsement.holder_id == sa.bindparam("holder_id"))
        .order_by(Endorsement.issued_on.desc())
    )


def endorsements_held_by(holder: User) -> list[Endorsement]:
    return list(db.session.scalars(holder_endorsements_statement(), {"holder_id": holder.id}))


@dataclass(frozen=True)
class ListingChoices:
    listed: bool
    show_city: bool
    city: str | None


def listing_choices(holder: User) -> ListingChoices:
    """The endorsee's registry choices (the configured default where they have not chosen)."""
    listing = db.session.get(RegistryListing, holder.id)
    if listing is None:
        return ListingChoices(listed=current_app.config["REGISTRY_LISTED_BY_DEFAULT"], show_city=False, city=None)
    return ListingChoices(listed=listing.listed, show_city=listing.show_city, city=listing.city)


def save_listing_choices(*, holder: User, listed: bool, show_city: bool, city: str | None) -> RegistryListing:
    """Record whether the endorsee is listed in the public registry and whether their city shows."""
    city = (city or "").strip() or None
    listing = db.session.get(RegistryListing, holder.id)
    if listing is None:
        listing = RegistryListing(holder_id=holder.id, listed=listed)
        db.session.add(listing)
    elif (listing.listed, listing.show_city, listing.city) == (listed, show_city, city):
        return listing  # nothing changed: nothing to audit, and the registry's pages keep their dates
    listing.listed, listing.show_city, listing.city, listing.updated_at = listed, show_city, city, utcnow()
    db.session.flush()
    record(AuditAction.REGISTRY_LISTING_CHANGED, obj=holder, actor=holder, listed=listed, show_city=show_city)
    return listing
