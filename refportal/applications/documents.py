"""The applicant's portfolio documents (transcripts, certificates, RSC verifications, résumés): added and
removed by the applicant while the application is editable, added by staff on the applicant's behalf at
any time; kept in the one document store (refportal.documents)."""

from __future__ import annotations

from werkzeug.datastructures import FileStorage

from refportal.accounts.models import User
from refportal.applications.models import Application
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.documents.models import Document, DocumentPurpose
from refportal.documents.services import PORTFOLIO_PURPOSES, delete_document, store_document
from refportal.exceptions import Refused


class PortfolioDocumentRefused(Refused):
    """The application does not take this change to its documents now."""


def _check_purpose(purpose: DocumentPurpose) -> None:
    if purpose not in PORTFOLIO_PURPOSES:
        raise PortfolioDocumentRefused("Choose what the document is.", field="purpose")


def add_document(
    *, application: Application, purpose: DocumentPurpose, upload: FileStorage | None, actor: User
) -> Document:
    """The applicant adds a document to their application while it is editable (a draft, or more
    information was asked for)."""
    if not application.is_editable:
        raise PortfolioDocumentRefused(
            f"This application is {application.status.label.lower()}: documents can be added only while it is a "
            "draft or the reviewers ask for more information. Nothing was saved."
        )
    _check_purpose(purpose)
    return store_document(application_id=application.id, purpose=purpose, upload=upload, actor=actor)


def add_document_for_applicant(
    *, application: Application, purpose: DocumentPurpose, upload: FileStorage | None, actor: User
) -> Document:
    """Staff add a document on the applicant's behalf (whatever the application's state), recorded as
    uploaded by them."""
    _check_purpose(purpose)
    return store_document(application_id=application.id, purpose=purpose, upload=upload, actor=actor, by_staff=True)


def removal_refusal(application: Application, document: Document, user: User) -> str | None:
    """Why the applicant may not remove this document now (None: they may)."""
    if not application.is_editable:
        return (
            f"This application is {application.status.label.lower()}: its documents stay as they were sent. "
            "Nothing was removed."
        )
    if document.purpose not in PORTFOLIO_PURPOSES or document.uploaded_by_id != user.id:
        return "This document was added by the association's staff: ask them if it should go. Nothing was removed."
    return None


def remove_document(*, application: Application, document: Document, actor: User) -> None:
    """The applicant removes a portfolio document they uploaded, while the application is editable; its
    bytes leave the backend once the removal is committed. Audited on the application (the document's
    own row is gone)."""
    refusal = removal_refusal(application, document, actor)
    if refusal is not None:
        raise PortfolioDocumentRefused(refusal)
    record(
        AuditAction.DOCUMENT_REMOVED,
        obj=application,
        actor=actor,
        document=document.id,
        purpose=document.purpose.value,
        filename=document.filename,
    )
    delete_document(document)
