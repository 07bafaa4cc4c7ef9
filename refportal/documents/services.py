"""The store's services: keep an upload (checked, scanned when clamd answers, else pending), scan the
pending ones in the worker (retried with backoff), and give a clean document's bytes back."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from refportal import claims
from refportal.accounts.models import User
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import rows_changed, utcnow
from refportal.documents import clamd
from refportal.documents.lifecycle import ScanEvent, ScanState, transition
from refportal.documents.models import Document, DocumentPurpose
from refportal.documents.sniffing import UnacceptableFile, check_content, checked_filename, content_type_of
from refportal.documents.storage import StorageError, current_storage, storage_named
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.mail.services import queue_email
from refportal.transactions import unit_of_work

log = logging.getLogger("refportal.documents")


class DocumentInfected(Refused):
    """The virus scan found something: the file is not kept."""


def _size_of(stream: IO[bytes]) -> int:
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def _digest(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(64 * 1024):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    stream.seek(0)
    while chunk := stream.read(64 * 1024):
        yield chunk
    stream.seek(0)


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


def check_upload(upload: FileStorage | None, *, application_id: int) -> tuple[IO[bytes], str, str, int]:
    """The upload's stream, checked name, content type and size; refused (UnacceptableFile) otherwise."""
    cfg = current_app.config
    if upload is None or not upload.filename:
        raise UnacceptableFile("Choose a file to upload.")
    filename = checked_filename(upload.filename)
    stream = upload.stream
    size = _size_of(stream)
    if size == 0:
        raise UnacceptableFile("The file is empty. Choose the file again.")
    if size > cfg["DOCUMENT_MAX_BYTES"]:
        limit = megabytes(cfg["DOCUMENT_MAX_BYTES"])
        raise UnacceptableFile(f"The file is larger than {limit}: scan it at a lower resolution and try again.")
    kept = db.session.scalar(sa.select(sa.func.count(Document.id)).where(Document.application_id == application_id))
    if (kept or 0) >= cfg["DOCUMENT_MAX_PER_APPLICATION"]:
        raise UnacceptableFile(f"This application already holds {kept} documents, the most it may keep.")
    content_type = content_type_of(stream)
    check_content(
        stream,
        content_type,
        max_pixels=cfg["DOCUMENT_MAX_IMAGE_PIXELS"],
        max_pdf_objects=cfg["DOCUMENT_MAX_PDF_OBJECTS"],
    )
    return stream, filename, content_type, size


def store_document(
    *,
    application_id: int,
    purpose: DocumentPurpose,
    upload: FileStorage | None,
    actor: User | None,
    by_staff: bool = False,
) -> Document:
    """Keep an upload for an application: checked by content, scanned at once when clamd answers (an
    infected file is refused and not kept), else kept pending for the worker's scan."""
    stream, filename, content_type, size = check_upload(upload, application_id=application_id)
    verdict = _scan_now(stream)
    if verdict is not None and not verdict.clean:
        log.warning("upload refused by the virus scan: %s", verdict.signature)
        raise DocumentInfected(
            f"The virus scan found “{verdict.signature}” in this file, so it was not kept. "
            "Check the file (or scan the paper form again) and upload a clean copy."
        )
    storage = current_storage()
    document = Document(
        application_id=application_id,
        purpose=purpose,
        filename=filename,
        content_type=content_type,
        size=size,
        sha256=_digest(stream),
        storage=storage.name,
        storage_key=uuid.uuid4().hex,
        uploaded_by_id=actor.id if actor is not None else None,
        scan_state=ScanState.PENDING,
        next_scan_at=utcnow(),
    )
    try:
        storage.put(document.storage_key, stream)
    except StorageError as exc:
        log.exception("document storage failed")
        raise Refused("The file could not be stored just now; nothing was saved. Please try again later.") from exc
    db.session.add(document)
    if verdict is not None:
        _apply_verdict(document, verdict)
    record(
        AuditAction.DOCUMENT_UPLOADED,
        obj=document,
        actor=actor,
        application=application_id,
        purpose=purpose.value,
        scan=document.scan_state.value,
        by_staff=by_staff or None,
    )
    return document


def discard_bytes(document: Document) -> None:
    """Remove a document's bytes from its backend (after the change that stored them was refused)."""
    try:
        storage_named(document.storage).delete(document.storage_key)
    except Exception:  # noqa: BLE001 - an orphan object is harmless; the refusal must still be shown
        log.exception("could not remove the bytes of a refused upload")


def _scan_now(stream: IO[bytes]) -> clamd.Verdict | None:
    """The verdict if clamd answers now, else None (the worker scans the document later)."""
    cfg = current_app.config
    if not cfg["CLAMD_ADDRESS"]:
        return None
    try:
        return clamd.scan_chunks(cfg["CLAMD_ADDRESS"], _chunks(stream), timeout=cfg["CLAMD_TIMEOUT_SECONDS"])
    except clamd.ClamdUnavailable as exc:
        log.warning("scan at upload not possible, the document stays pending: %s", exc)
        return None


def _apply_verdict(document: Document, verdict: clamd.Verdict) -> None:
    transition(document, ScanEvent.CLEAN if verdict.clean else ScanEvent.INFECTED)
    document.scanned_at = utcnow()
    document.next_scan_at = None
    document.last_scan_error = None
    if not verdict.clean:
        document.scan_signature = (verdict.signature or "")[:200]


@dataclass
class ScanReport:
    claimed: int = 0
    clean: int = 0
    quarantined: int = 0
    retried: int = 0


def scan_due_documents(*, limit: int = 20, should_stop: Callable[[], bool] = lambda: False) -> ScanReport:
    """The worker's job: scan the pending documents that are due, each in its own unit of work."""
    cfg = current_app.config
    now = utcnow()
    claimed = claims.claim_due(
        Document,
        due=sa.and_(Document.scan_state == ScanState.PENDING, Document.next_scan_at <= now),
        claim={"next_scan_at": now + timedelta(seconds=cfg["DOCUMENT_SCAN_LEASE_SECONDS"])},
        limit=limit,
    )
    report = ScanReport()
    for document in claimed:
        if should_stop():
            break
        report.claimed += 1
        with unit_of_work():
            found = db.session.get(Document, document.id)
            if found is not None and found.scan_state is ScanState.PENDING:
                scan_document(found, report)
    return report


def scan_document(document: Document, report: ScanReport | None = None) -> None:
    """Scan a pending document's stored bytes: clean, quarantined (its uploader told), or retried later."""
    cfg = current_app.config
    report = report or ScanReport()
    try:
        if not cfg["CLAMD_ADDRESS"]:
            raise clamd.ClamdUnavailable("CLAMD_ADDRESS is not set")
        chunks = storage_named(document.storage).chunks(document.storage_key)
        verdict = clamd.scan_chunks(cfg["CLAMD_ADDRESS"], chunks, timeout=cfg["CLAMD_TIMEOUT_SECONDS"])
    except (clamd.ClamdUnavailable, StorageError) as exc:
        transition(document, ScanEvent.FAILED)
        document.scan_attempts += 1
        document.last_scan_error = str(exc)[:300]
        document.next_scan_at = utcnow() + claims.backoff(
            attempts=document.scan_attempts, base_seconds=cfg["DOCUMENT_SCAN_RETRY_BASE_SECONDS"]
        )
        report.retried += 1
        log.warning("document %s: scan failed (attempt %s): %s", document.id, document.scan_attempts, exc)
        return
    document.scan_attempts += 1
    _apply_verdict(document, verdict)
    if verdict.clean:
        report.clean += 1
        return
    report.quarantined += 1
    record(AuditAction.DOCUMENT_QUARANTINED, obj=document, signature=document.scan_signature)
    _tell_uploader(document)


def _tell_uploader(document: Document) -> None:
    uploader = db.session.get(User, document.uploaded_by_id) if document.uploaded_by_id else None
    if uploader is not None and uploader.deactivated_at is None:
        queue_email("document_quarantined", uploader.email, name=uploader.name, document=document, related=document)


def document_chunks(document: Document) -> Iterator[bytes]:
    """A clean document's bytes (refused for one not scanned clean: nothing unscanned is served)."""
    if not document.may_be_served:
        raise Refused("This document has not passed the virus scan.")
    return storage_named(document.storage).chunks(document.storage_key)


def note_download(document: Document, reader: User, *, inline: bool) -> None:
    """Every opening of a document is on the audit trail (who, when, which), like a reading of ratings."""
    record(
        AuditAction.DOCUMENT_DOWNLOADED,
        obj=document,
        actor=reader,
        application=document.application_id,
        purpose=document.purpose.value,
        inline=inline or None,
    )


# ------------------------------------------------------------------------------------------------
# Removing a document, asking for a scan now, the lists the pages show

PORTFOLIO_PURPOSES = (
    DocumentPurpose.TRANSCRIPT,
    DocumentPurpose.CERTIFICATE,
    DocumentPurpose.RSC_VERIFICATION,
    DocumentPurpose.RESUME,
)
# A pending document older than this is shown on the staff's list (the worker should have scanned it).
LONG_PENDING = timedelta(minutes=10)
_REMOVED_BYTES = "refportal.documents.removed_bytes"


def delete_document(document: Document) -> None:
    """Delete a document's row; its bytes go once the transaction commits (the database backend's with the
    row, in the same transaction). A rolled-back removal keeps them."""
    name, key = document.storage, document.storage_key
    db.session.delete(document)
    db.session.flush()
    if name == "database":
        storage_named(name).delete(key)
        return
    session = db.session()
    if not sa.event.contains(db.session, "after_commit", _delete_removed_bytes):
        sa.event.listen(db.session, "after_commit", _delete_removed_bytes)
        sa.event.listen(db.session, "after_soft_rollback", _forget_removed_bytes)
    session.info.setdefault(_REMOVED_BYTES, []).append((storage_named(name), key))


def _delete_removed_bytes(session: Session) -> None:
    for storage, key in session.info.pop(_REMOVED_BYTES, []):
        try:
            storage.delete(key)
        except Exception:  # noqa: BLE001 - an orphan object is harmless; the removal is committed
            log.exception("could not delete the bytes of a removed document")


def _forget_removed_bytes(session: Session, previous_transaction: object) -> None:
    session.info.pop(_REMOVED_BYTES, None)


class RescanRefused(Refused):
    """Only a document waiting for its scan can be scanned again."""


def request_rescan(document: Document, *, actor: User) -> None:
    """Make a pending document due now: the worker's next pass scans it (audited)."""
    changed = rows_changed(
        db.session,
        sa.update(Document)
        .where(Document.id == document.id, Document.scan_state == ScanState.PENDING)
        .values(next_scan_at=utcnow()),
    )
    if changed != 1:
        db.session.refresh(document)
        raise RescanRefused(f"{document.filename} is {document.scan_state.label} already: there is nothing to rescan.")
    db.session.refresh(document)
    record(AuditAction.DOCUMENT_RESCAN_REQUESTED, obj=document, actor=actor, attempts=document.scan_attempts)


def documents_of(application_id: int, purposes: tuple[DocumentPurpose, ...] = PORTFOLIO_PURPOSES) -> list[Document]:
    """An application's documents of these purposes, in the order they came."""
    return list(
        db.session.scalars(
            sa.select(Document)
            .where(Document.application_id == application_id, Document.purpose.in_(purposes))
            .order_by(Document.uploaded_at, Document.id)
        )
    )


def documents_with_uploaders(
    application_id: int, purposes: tuple[DocumentPurpose, ...] = PORTFOLIO_PURPOSES
) -> tuple[list[Document], dict[int, User]]:
    """documents_of and uploaders_of in one statement (each document with its uploader joined)."""
    rows = db.session.execute(
        sa.select(Document, User)
        .outerjoin(User, User.id == Document.uploaded_by_id)
        .where(Document.application_id == application_id, Document.purpose.in_(purposes))
        .order_by(Document.uploaded_at, Document.id)
    ).all()
    return [document for document, _ in rows], {user.id: user for _, user in rows if user is not None}


def needing_attention(now: datetime | None = None) -> tuple[list[Document], int]:
    """The quarantined documents and those pending longer than LONG_PENDING (the oldest first); and how
    many more are pending for less than that (the worker's ordinary queue)."""
    now = now or utcnow()
    long_pending = sa.and_(Document.scan_state == ScanState.PENDING, Document.uploaded_at <= now - LONG_PENDING)
    listed = list(
        db.session.scalars(
            sa.select(Document)
            .where(sa.or_(Document.scan_state == ScanState.QUARANTINED, long_pending))
            .order_by(Document.uploaded_at, Document.id)
            .limit(500)
        )
    )
    recent = db.session.scalar(
        sa.select(sa.func.count(Document.id)).where(
            Document.scan_state == ScanState.PENDING, Document.uploaded_at > now - LONG_PENDING
        )
    )
    return listed, recent or 0


def uploaders_of(documents: list[Document]) -> dict[int, User]:
    """The users who uploaded these documents, by id (one statement)."""
    ids = {document.uploaded_by_id for document in documents if document.uploaded_by_id is not None}
    if not ids:
        return {}
    return {user.id: user for user in db.session.scalars(sa.select(User).where(User.id.in_(ids)))}
