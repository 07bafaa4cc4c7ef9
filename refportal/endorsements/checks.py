"""A referee's own endorsement, as they gave it on the rating form, checked against the registry: the
number, the credential and category, and the status on the rating date."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from refportal.applications.categories import Credential, category_name
from refportal.endorsements.lifecycle import IN_FORCE, EndorsementStatus
from refportal.endorsements.models import Endorsement
from refportal.endorsements.services import normalized_number
from refportal.extensions import db


@dataclass(frozen=True)
class Claim:
    """What a referee said of their own endorsement on the day they rated."""

    key: int  # whose claim (the rating's id)
    number: str
    credential: Credential | None
    category: int | None
    on: date


@dataclass(frozen=True)
class RegistryCheck:
    confirmed: bool
    message: str


def check_claims(claims: Iterable[Claim]) -> dict[int, RegistryCheck]:
    """Each claim checked against the registry (two statements for any number of claims, none without one)."""
    claims = list(claims)
    numbers = {normalized_number(claim.number) for claim in claims} - {None}
    found: dict[str, Endorsement] = {}
    if numbers:
        found = {
            e.number: e
            for e in db.session.scalars(
                sa.select(Endorsement).where(Endorsement.number.in_(numbers)).options(selectinload(Endorsement.changes))
            )
        }
    return {claim.key: _check(claim, found.get(normalized_number(claim.number) or "")) for claim in claims}


def _check(claim: Claim, endorsement: Endorsement | None) -> RegistryCheck:
    if endorsement is None:
        return RegistryCheck(False, f"Not in the registry: no endorsement has the number {claim.number}.")
    status = status_on(endorsement, claim.on)
    held = f"{endorsement.credential.short} {endorsement.category_name}"
    if status is None:
        issued = endorsement.issued_on.strftime("%d %B %Y")
        return RegistryCheck(False, f"{endorsement.number} was not yet issued on the rating date (issued {issued}).")
    if status not in IN_FORCE:
        return RegistryCheck(False, f"{endorsement.number} ({held}) was {status.label.lower()} on the rating date.")
    if (claim.credential, claim.category) != (endorsement.credential, endorsement.category):
        said = (
            f"{claim.credential.short} {category_name(claim.credential, claim.category)}"
            if claim.credential is not None and claim.category is not None
            else "no category"
        )
        return RegistryCheck(False, f"{endorsement.number} is {held} in the registry, not {said} as the referee said.")
    return RegistryCheck(
        True, f"Confirmed by the registry: {endorsement.number}, {held}, {status.label.lower()} on the rating date."
    )


def status_on(endorsement: Endorsement, day: date) -> EndorsementStatus | None:
    """The endorsement's status at the end of `day` (None: not yet issued then), from its history."""
    status = None
    for change in endorsement.changes:  # oldest first
        if change.changed_at.date() > day:
            break
        status = change.status
    return status
