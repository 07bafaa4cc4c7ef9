"""Every document is scanned by a real clamd (Debian's, with signatures the tests make) before anyone
may open it: at upload when clamd answers; otherwise kept pending and scanned later by the worker,
retried with backoff while clamd is down; an infected file is refused at upload, or quarantined (and
its uploader told) when the later scan finds it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.db import utcnow
from refportal.documents import clamd
from refportal.documents.lifecycle import ScanState
from refportal.documents.models import Document, DocumentBlob, DocumentPurpose
from refportal.documents.services import document_chunks, scan_due_documents, store_document
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.transactions import attempt
from tests.documents.helpers import upload
from tests.documents_samples import INFECTED_PDF, pdf
from tests.documents_servers import EICAR
from tests.factories import make_application, make_user
from tests.smtp import free_port


@pytest.fixture(params=["tcp", "unix"])
def clamd_address(request, clamd_server) -> str:
    return clamd_server.tcp_address if request.param == "tcp" else clamd_server.unix_address


def test_the_client_finds_the_test_signature_and_passes_a_clean_stream(clamd_address):
    infected = clamd.scan_chunks(clamd_address, [EICAR[:10], EICAR[10:]], timeout=10)
    assert not infected.clean and infected.signature.startswith("Refportal.Test.EICAR")
    assert clamd.scan_chunks(clamd_address, [pdf()], timeout=10).clean


def test_a_clean_upload_is_scanned_at_once(make_app, clamd_address):
    app = make_app(CLAMD_ADDRESS=clamd_address, DOCUMENT_STORAGE="database")
    with app.app_context():
        application = make_application(make_user())
        document = store_document(
            application_id=application.id, purpose=DocumentPurpose.TRANSCRIPT, upload=upload(pdf()), actor=None
        )
        assert document.scan_state is ScanState.CLEAN and document.scanned_at is not None
        assert b"".join(document_chunks(document)) == pdf()


def test_an_infected_upload_is_refused_and_nothing_of_it_is_kept(make_app, clamd_server, tmp_path):
    app = make_app(CLAMD_ADDRESS=clamd_server.tcp_address, DOCUMENT_DIRECTORY=str(tmp_path / "docs"))
    with app.app_context():
        application = make_application(make_user())
        outcome = attempt(
            lambda: store_document(
                application_id=application.id,
                purpose=DocumentPurpose.TRANSCRIPT,
                upload=upload(INFECTED_PDF),
                actor=None,
            )
        )
        assert outcome.refusal is not None
        assert "Refportal.Test.InfectedPdf" in outcome.refusal.message and "not kept" in outcome.refusal.message
        assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0
        assert not any(path.is_file() for path in (tmp_path / "docs").rglob("*"))


def _pending_upload(app, content: bytes, uploader_email: str = "staff@example.org") -> int:
    """A document uploaded while clamd is down (a closed loopback port)."""
    app.config["CLAMD_ADDRESS"] = f"tcp://127.0.0.1:{free_port()}"
    with app.app_context():
        uploader = make_user(email=uploader_email, name="Sam Staff")
        application = make_application(make_user())
        document = store_document(
            application_id=application.id,
            purpose=DocumentPurpose.SIGNED_RATING_FORM,
            upload=upload(content),
            actor=uploader,
        )
        db.session.commit()
        assert document.scan_state is ScanState.PENDING
        with pytest.raises(Refused):
            document_chunks(document)  # never served unscanned
        return document.id


def _make_due(app, document_id: int) -> None:
    """As if the retry's wait had passed."""
    with app.app_context():
        db.session.get(Document, document_id).next_scan_at = utcnow() - timedelta(seconds=1)
        db.session.commit()


def test_while_clamd_is_down_the_document_stays_pending_and_retries_back_off_then_it_is_scanned(make_app, clamd_server):
    app = make_app(DOCUMENT_STORAGE="database", DOCUMENT_SCAN_RETRY_BASE_SECONDS=60)
    document_id = _pending_upload(app, pdf())
    with app.app_context():
        waits = []
        for attempt_number in (1, 2, 3):
            before = utcnow()
            report = scan_due_documents()
            assert (report.claimed, report.retried) == (1, 1)
            document = db.session.get(Document, document_id)
            assert document.scan_state is ScanState.PENDING and document.scan_attempts == attempt_number
            assert "cannot be reached" in document.last_scan_error
            waits.append(round((document.next_scan_at - before).total_seconds() / 60))
            assert scan_due_documents().claimed == 0  # not due again before its wait
            _make_due(app, document_id)
        assert waits == [1, 2, 4]  # 60 s, doubling
        app.config["CLAMD_ADDRESS"] = clamd_server.unix_address
        assert scan_due_documents().clean == 1
        document = db.session.get(Document, document_id)
        assert document.scan_state is ScanState.CLEAN and document.next_scan_at is None
        assert b"".join(document_chunks(document)) == pdf()


def test_an_infected_file_found_later_is_quarantined_never_served_and_its_uploader_is_told(
    make_app, clamd_server, outbox
):
    app = make_app(DOCUMENT_STORAGE="filesystem")
    document_id = _pending_upload(app, INFECTED_PDF)
    _make_due(app, document_id)
    app.config["CLAMD_ADDRESS"] = clamd_server.tcp_address
    with app.app_context():
        assert scan_due_documents().quarantined == 1
        document = db.session.get(Document, document_id)
        assert document.scan_state is ScanState.QUARANTINED
        assert document.scan_signature.startswith("Refportal.Test.InfectedPdf")
        with pytest.raises(Refused):
            document_chunks(document)
        assert (
            db.session.scalar(
                sa.select(AuditEvent.action)
                .where(AuditEvent.object_type == "document", AuditEvent.object_id == document_id)
                .order_by(AuditEvent.id.desc())
            )
            == AuditAction.DOCUMENT_QUARANTINED
        )
        assert scan_due_documents().claimed == 0  # quarantined for good
    [notice] = [m for m in outbox("staff@example.org") if m.template == "document_quarantined"]
    assert "Refportal.Test.InfectedPdf" in notice.body_text and "form.pdf" in notice.body_text


def test_the_worker_process_scans_a_document_left_pending(smtp_app, clamd_server):
    from tests.mail.helpers import wait_for
    from tests.worker.helpers import stop, worker_process

    smtp_app.config["DOCUMENT_STORAGE"] = "database"
    document_id = _pending_upload(smtp_app, pdf())

    def state():
        with smtp_app.app_context():
            return db.session.scalar(sa.select(Document.scan_state).where(Document.id == document_id))

    process = worker_process(smtp_app, CLAMD_ADDRESS=clamd_server.tcp_address, DOCUMENT_STORAGE="database")
    try:
        wait_for(lambda: state() is ScanState.CLEAN, 30, "the scan")
    finally:
        output = stop(process)
    assert process.returncode == 0, output
    assert "documents: clean 1, quarantined 0" in output
    with smtp_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DocumentBlob)) == 1
