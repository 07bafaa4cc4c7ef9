"""A document's scan state in one table: (state, event) → state.

    pending ─clean─▶ clean
    pending ─infected─▶ quarantined (kept, never served)
    pending ─scan failed─▶ pending (clamd down or erring: retried later with backoff)

Only a clean document is ever served."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from refportal.exceptions import Refused

if TYPE_CHECKING:
    from refportal.documents.models import Document


class ScanState(enum.Enum):
    PENDING = "pending"
    CLEAN = "clean"
    QUARANTINED = "quarantined"

    @property
    def label(self) -> str:
        return {"pending": "awaiting the virus scan", "clean": "scanned", "quarantined": "quarantined"}[self.value]


class ScanEvent(enum.Enum):
    CLEAN = "clean"  # clamd found nothing
    INFECTED = "infected"  # clamd found a signature
    FAILED = "failed"  # clamd could not be reached or answered with an error


S = ScanState

TRANSITIONS: dict[tuple[ScanState, ScanEvent], ScanState] = {
    (S.PENDING, ScanEvent.CLEAN): S.CLEAN,
    (S.PENDING, ScanEvent.INFECTED): S.QUARANTINED,
    (S.PENDING, ScanEvent.FAILED): S.PENDING,
}


class ScanTransitionRefused(Refused):
    """The document was scanned already."""


def allows(document: Document, event: ScanEvent) -> bool:
    return (document.scan_state, event) in TRANSITIONS


def transition(document: Document, event: ScanEvent) -> ScanState:
    """Move the document's scan state on (refused if the table has no such move); returns the state before."""
    before = document.scan_state
    if not allows(document, event):
        raise ScanTransitionRefused("This document has been scanned already.")
    document.scan_state = TRANSITIONS[(before, event)]
    return before
