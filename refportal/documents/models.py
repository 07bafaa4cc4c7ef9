"""A stored document, and the bytes of those kept in the database backend."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, deferred, mapped_column

from refportal.db import Base, UTCDateTime, enum_column, utcnow
from refportal.documents.lifecycle import ScanState


class DocumentPurpose(enum.Enum):
    """Why a document is kept (what it shows to whom is decided by the purpose)."""

    SIGNED_RATING_FORM = "signed_rating_form"  # a referee's signed paper/PDF rating, entered by staff
    TRANSCRIPT = "transcript"
    CERTIFICATE = "certificate"
    RSC_VERIFICATION = "rsc_verification"
    RESUME = "resume"

    @property
    def label(self) -> str:
        return {
            "signed_rating_form": "Signed rating form",
            "transcript": "Transcript",
            "certificate": "Certificate",
            "rsc_verification": "RSC verification",
            "resume": "Résumé",
        }[self.value]


class Document(Base):
    __tablename__ = "document"
    __table_args__ = (sa.Index("ix_document_scan_due", "scan_state", "next_scan_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The owner, by id only: the store imports nothing of the slices that use it.
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[DocumentPurpose] = mapped_column(enum_column(DocumentPurpose))
    filename: Mapped[str] = mapped_column(sa.String(160))  # as the uploader named it (checked), for downloads
    content_type: Mapped[str] = mapped_column(sa.String(64))  # found from the content, never from the name
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    storage: Mapped[str] = mapped_column(sa.String(16))  # the backend that holds the bytes
    storage_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    scan_state: Mapped[ScanState] = mapped_column(enum_column(ScanState), default=ScanState.PENDING)
    scan_attempts: Mapped[int] = mapped_column(default=0)
    # When the worker next tries a pending scan (also its claim's lease while it scans).
    next_scan_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scan_signature: Mapped[str | None] = mapped_column(sa.String(200))  # what clamd found
    last_scan_error: Mapped[str | None] = mapped_column(sa.String(300))

    @property
    def may_be_served(self) -> bool:
        return self.scan_state is ScanState.CLEAN

    @property
    def is_quarantined(self) -> bool:
        return self.scan_state is ScanState.QUARANTINED

    @property
    def size_label(self) -> str:
        """The size as people read it: 820 KB, 4.8 MB."""
        if self.size < 1024 * 1024:
            return f"{max(1, round(self.size / 1024))} KB"
        return f"{self.size / (1024 * 1024):.1f} MB"

    @property
    def shows_inline(self) -> bool:
        """PDFs and images may be shown in the browser (under a sandboxing CSP)."""
        return self.content_type in INLINE_TYPES


INLINE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg"})


class DocumentBlob(Base):
    """The bytes of a document kept by the database backend."""

    __tablename__ = "document_blob"

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    data: Mapped[bytes] = deferred(mapped_column(sa.LargeBinary, nullable=False))
