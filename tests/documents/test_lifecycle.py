"""The scan lifecycle: every state × event, against the table."""

from __future__ import annotations

import pytest

from refportal.documents import lifecycle
from refportal.documents.lifecycle import ScanEvent, ScanState, ScanTransitionRefused
from refportal.documents.models import Document

EXPECTED = {
    (ScanState.PENDING, ScanEvent.CLEAN): ScanState.CLEAN,
    (ScanState.PENDING, ScanEvent.INFECTED): ScanState.QUARANTINED,
    (ScanState.PENDING, ScanEvent.FAILED): ScanState.PENDING,
}


@pytest.mark.parametrize("state", list(ScanState))
@pytest.mark.parametrize("event", list(ScanEvent))
def test_every_state_and_event(state, event):
    document = Document(scan_state=state)
    if (state, event) in EXPECTED:
        assert lifecycle.transition(document, event) is state
        assert document.scan_state is EXPECTED[(state, event)]
    else:
        with pytest.raises(ScanTransitionRefused):
            lifecycle.transition(document, event)
        assert document.scan_state is state


def test_only_a_clean_document_may_be_served():
    assert [s for s in ScanState if Document(scan_state=s).may_be_served] == [ScanState.CLEAN]


def test_the_table_is_the_expected_one():
    assert lifecycle.TRANSITIONS == EXPECTED
