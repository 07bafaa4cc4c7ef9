"""What the applicant is told about their references: status news, never any of a rating's content."""
from __future__ import annotations

from refportal.mail.services import external_url, queue_email
from refportal.references.models import Reference


def tell_applicant(reference: Reference, template: str, **context) -> None:
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
