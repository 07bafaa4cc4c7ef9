"""Helpers for files in any state of completeness."""

from __future__ import annotations

from decimal import Decimal

from refportal.applications.models import Application
from refportal.extensions import db
from refportal.references.answers import submit_rating
from refportal.references.nomination import nominate_referee, send_requests
from tests.reviews.conftest import REFEREES, rating_answers


def with_ratings(application: Application, counted: int = 3) -> None:
    """Three referees nominated and asked; `counted` of them have submitted a rating that counts."""
    references = [
        nominate_referee(
            application=application,
            actor=application.applicant,
            name=name,
            email=email,
            organisation="Org",
            role=role,
            setting="Program",
            known_years=Decimal(3),
            waived=True,
            endorsed_credential=None,
            endorsed_category=None,
        )
        for name, email, role in REFEREES
    ]
    send_requests(application=application, actor=application.applicant)
    for reference in references[:counted]:
        submit_rating(reference=reference, nonce=reference.link_nonce, answers=rating_answers(reference.name))
    db.session.commit()
