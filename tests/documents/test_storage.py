"""The same storage behaviour on each backend: the database, the filesystem, and S3 (moto on loopback)."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from refportal.documents.lifecycle import ScanState
from refportal.documents.models import Document, DocumentPurpose
from refportal.documents.services import store_document
from refportal.documents.storage import StorageError, current_storage, storage_named
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.transactions import attempt
from tests.documents.helpers import upload
from tests.documents_samples import pdf
from tests.factories import make_application, make_user


def test_bytes_put_come_back_whole_and_are_gone_once_deleted(backend_app):
    with backend_app.app_context():
        storage = current_storage()
        content = pdf(payload_bytes=300 * 1024)  # more than one chunk
        storage.put("00ab" + "c" * 28, io.BytesIO(content))
        assert b"".join(storage.chunks("00ab" + "c" * 28)) == content
        storage.delete("00ab" + "c" * 28)
        with pytest.raises(StorageError):
            b"".join(storage.chunks("00ab" + "c" * 28))


def test_a_stored_upload_is_pending_until_scanned_and_kept_by_the_configured_backend(backend_app):
    content = pdf()
    with backend_app.app_context():
        application = make_application(make_user())
        document = store_document(
            application_id=application.id, purpose=DocumentPurpose.TRANSCRIPT, upload=upload(content), actor=None
        )
        db.session.commit()
        document_id = document.id
    with backend_app.app_context():
        document = db.session.get(Document, document_id)
        assert document.storage == backend_app.config["DOCUMENT_STORAGE"]
        assert document.scan_state is ScanState.PENDING and document.next_scan_at is not None
        assert (document.content_type, document.size, document.filename) == (
            "application/pdf",
            len(content),
            "form.pdf",
        )
        assert b"".join(storage_named(document.storage).chunks(document.storage_key)) == content
        assert document.storage_key not in ("form.pdf",) and "/" not in document.storage_key


def test_the_count_limit_refuses_one_more_document(backend_app):
    with backend_app.app_context():
        backend_app.config["DOCUMENT_MAX_PER_APPLICATION"] = 2
        application_id = make_application(make_user()).id

        def store():
            return store_document(
                application_id=application_id, purpose=DocumentPurpose.CERTIFICATE, upload=upload(pdf()), actor=None
            )

        for _ in range(2):
            assert attempt(store).done
            db.session.commit()
        third = attempt(store)
        assert isinstance(third.refusal, Refused) and "2 documents" in third.refusal.message
        assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 2


def test_the_size_limit_refuses_a_larger_file_and_keeps_nothing(backend_app):
    with backend_app.app_context():
        backend_app.config["DOCUMENT_MAX_BYTES"] = 100 * 1024
        application_id = make_application(make_user()).id
        outcome = attempt(
            lambda: store_document(
                application_id=application_id,
                purpose=DocumentPurpose.RESUME,
                upload=upload(pdf(payload_bytes=200 * 1024)),
                actor=None,
            )
        )
        assert outcome.refusal is not None and "larger than" in outcome.refusal.message
        assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0
