"""Fewer retyped details: a referee who rated before through the portal, from the same address, finds
their name, role and own endorsement from their latest rating filled in (editable) on a new form."""

from __future__ import annotations

import sqlalchemy as sa

from refportal.extensions import db
from refportal.references.models import Rating, Reference
from refportal.references.rating_form import NOT_ENDORSED

# The answers a returning referee finds filled in (a step showing none of them does not read the rating).
PREFILLED = frozenset(
    {"attestation_name", "relationship_role", "endorsement", "endorsed_category", "endorsement_number"}
)


def earlier_details(reference: Reference) -> dict:
    """What the referee's latest rating from this address said about themselves (empty if none)."""
    rating = db.session.scalars(
        sa.select(Rating)
        .join(Rating.reference)
        .where(Reference.email == reference.email, Reference.id != reference.id)
        .order_by(Rating.submitted_at.desc(), Rating.id.desc())
        .limit(1)
    ).first()
    if rating is None:
        return {}
    details: dict = {"attestation_name": rating.attestation_name, "relationship_role": rating.relationship_role}
    if rating.endorsed_credential is None:
        details["endorsement"] = NOT_ENDORSED
    else:
        details.update(
            endorsement=rating.endorsed_credential.value,
            endorsed_category=str(rating.endorsed_category),
            endorsement_number=rating.endorsement_number or "",
        )
    assert PREFILLED.issuperset(details)
    return details
