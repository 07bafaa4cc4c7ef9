"""What the applicant is told about their references (status news, never any of a rating's content),
and what a referee is told when their part ends (a receipt, or the request withdrawn)."""

from __future__ import annotations

from typing import Any

from flask_babel import force_locale

from refportal.mail.services import external_url, queue_email
from refportal.references.models import Reference


def tell_applicant(reference: Reference, template: str, **context: Any) -> None:
    """Status news for the applicant: never any of the rating's content."""
    application = reference.application
    queue_email(
        template,
        application.applicant.email,
        applicant=application.applicant,
        application=application,
        referee_name=reference.name,
        referee_email=reference.email,
        link=external_url("references.index", application_id=application.id),
        **context,
    )


def tell_referee(reference: Reference, template: str, **context: Any) -> None:
    """A closing e-mail to the referee, in their language, at the address the request went to."""
    application = reference.application
    with force_locale(reference.language):
        queue_email(
            template,
            reference.email,
            related=reference,
            reference=reference,
            applicant=application.applicant,
            application=application,
            **context,
        )
