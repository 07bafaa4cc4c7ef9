"""Who may open a document of an application: the applicant (a signed rating form only where they may
read the rating itself, see Reference.applicant_may_read_content), and staff who may open the file and
have no conflict of interest with it (as for the ratings)."""

from __future__ import annotations

import sqlalchemy as sa

from refportal.accounts.models import Role, User
from refportal.applications.models import Application
from refportal.documents.models import Document, DocumentPurpose
from refportal.extensions import db
from refportal.references.models import Rating, Reference
from refportal.reviews import conflicts


def reference_of(document: Document) -> Reference | None:
    """The reference whose rating a signed rating form belongs to."""
    return db.session.scalar(sa.select(Reference).join(Rating).where(Rating.signed_form_id == document.id))


def may_read_document(document: Document, user: User) -> bool:
    application = db.session.get(Application, document.application_id)
    if application is None or not user.is_authenticated:
        return False
    if user.role is Role.APPLICANT:
        if application.applicant_id != user.id:
            return False
        if document.purpose is DocumentPurpose.SIGNED_RATING_FORM:
            reference = reference_of(document)
            return reference is not None and reference.applicant_may_read_content
        return True
    if user.is_staff:
        return conflicts.may_open_file(application, user) and not conflicts.conflicts_with(application, user)
    return False
