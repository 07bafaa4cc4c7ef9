"""The applicant's documents page, staff's upload on the applicant's behalf, the file page's Documents
section and the administrators' list of quarantined and long-pending documents: through the test client,
with a real clamd (and S3 against moto's server); every bad upload refused with a clear message and
nothing kept; every document opened only by those allowed."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from refportal.accounts.models import User
from refportal.applications.lifecycle import Event, transition
from refportal.applications.models import Application
from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.db import utcnow
from refportal.documents.lifecycle import ScanState
from refportal.documents.models import Document, DocumentBlob
from refportal.documents.services import scan_due_documents
from refportal.extensions import db
from refportal.references.models import Reference
from refportal.reviews.assignments import assign, recuse
from refportal.transactions import unit_of_work
from tests.builders import logged_in
from tests.documents.helpers import s3_settings
from tests.documents_samples import EXECUTABLE, INFECTED_PDF, jpeg, pdf, png, png_claiming, zip_bomb
from tests.documents_servers import EICAR
from tests.references.helpers import full_answers
from tests.reviews.helpers import asked_referees
from tests.web import csrf_token_from

TRANSCRIPT = pdf("official transcript of Ana Applicant")
CLAMD_DOWN = "tcp://127.0.0.1:9"  # the discard port: nothing listens there


@pytest.fixture
def uploads_app(make_app, clamd_server, tmp_path):
    return make_app(CLAMD_ADDRESS=clamd_server.tcp_address, DOCUMENT_DIRECTORY=str(tmp_path / "documents"))


@pytest.fixture
def world(uploads_app):
    """Ana's draft application (referees asked), Otto (another applicant), Alex (admin), Rita and Rafe
    (reviewers)."""
    with uploads_app.app_context():
        return asked_referees()


def page_url(world) -> str:
    return f"/applications/{world['application']}/documents"


def upload(browser, url: str, content: bytes, filename: str = "transcript.pdf", purpose: str = "transcript"):
    return browser.submit(url, {"purpose": purpose, "document": (io.BytesIO(content), filename)})


def kept(app) -> tuple[int, int, int]:
    """Documents, database blobs and files in the filesystem backend's directory."""
    with app.app_context():
        directory = Path(app.config["DOCUMENT_DIRECTORY"])
        files = sum(1 for path in directory.rglob("*") if path.is_file()) if directory.exists() else 0
        return (
            db.session.scalar(sa.select(sa.func.count(Document.id))),
            db.session.scalar(sa.select(sa.func.count()).select_from(DocumentBlob)),
            files,
        )


def only_document(app) -> Document:
    with app.app_context():
        document = db.session.scalars(sa.select(Document)).one()
        db.session.expunge(document)
        return document


def actions(app, action: AuditAction) -> list[AuditEvent]:
    with app.app_context():
        events = list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))
        for event in events:
            db.session.expunge(event)
        return events


# ------------------------------------------------------------------------------------------------
# The applicant's page


def test_a_clean_pdf_is_kept_listed_and_downloadable_by_the_applicant(uploads_app, world):
    ana = logged_in(uploads_app, "applicant@example.org")
    application_page = ana.get(f"/applications/{world['application']}").get_data(as_text=True)
    assert page_url(world) in application_page

    form = ana.get(page_url(world)).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form and "No documents yet." in form
    assert "RSC verification" in form and "Résumé" in form and "Certificate" in form

    response = upload(ana, page_url(world), TRANSCRIPT, "Transcript 2024.pdf")
    assert response.status_code == 302, response.get_data(as_text=True)
    document = only_document(uploads_app)
    assert document.scan_state is ScanState.CLEAN and document.filename == "Transcript 2024.pdf"

    listing = ana.get(page_url(world)).get_data(as_text=True)
    assert "Transcript 2024.pdf" in listing and "ready" in listing and "by Ana Applicant" in listing
    assert f"/documents/{document.id}" in listing and "Remove Transcript 2024.pdf" in listing
    download = ana.get(f"/documents/{document.id}")
    assert download.status_code == 200 and download.data == TRANSCRIPT
    assert download.headers["Content-Disposition"].startswith("attachment")
    (uploaded,) = actions(uploads_app, AuditAction.DOCUMENT_UPLOADED)
    assert uploaded.details["purpose"] == "transcript" and uploaded.details["scan"] == "clean"
    assert len(actions(uploads_app, AuditAction.DOCUMENT_DOWNLOADED)) == 1


def test_an_infected_file_is_refused_by_the_scan_and_the_eicar_string_by_its_content(uploads_app, world):
    ana = logged_in(uploads_app, "applicant@example.org")
    infected = upload(ana, page_url(world), INFECTED_PDF, "form.pdf")
    body = infected.get_data(as_text=True)
    assert infected.status_code == 200 and "Refportal.Test.InfectedPdf" in body and "not kept" in body
    eicar = upload(ana, page_url(world), EICAR, "eicar.pdf")
    assert eicar.status_code == 200 and "a PDF, or a PNG or JPEG image" in eicar.get_data(as_text=True)
    assert kept(uploads_app) == (0, 0, 0)


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (EXECUTABLE, "transcript.pdf", "a PDF, or a PNG or JPEG image"),  # a renamed executable
        (pdf(javascript="app.alert(1)"), "transcript.pdf", "JavaScript"),
        (zip_bomb(), "transcripts.zip", "a PDF, or a PNG or JPEG image"),
        (TRANSCRIPT, "../../etc/transcript.pdf", "must not contain"),
        # The header carries "\\" escaped (as a quoted string), so the parsed name holds "C:\Users\…".
        (TRANSCRIPT, r"C:\\Users\\ana\\transcript.pdf", "must not contain"),
        (TRANSCRIPT, "transcript\u202efdp.exe", "control characters"),
        (TRANSCRIPT, "tran\x07script.pdf", "control characters"),
        (png_claiming(50_000, 50_000), "scan.png", "pixels"),
        (b"", "empty.pdf", "The file is empty"),
    ],
    ids=["executable", "javascript", "zip", "traversal", "backslashes", "rtl-override", "bell", "huge-png", "empty"],
)
def test_bad_uploads_are_refused_with_a_clear_message_and_nothing_kept(uploads_app, world, content, filename, message):
    ana = logged_in(uploads_app, "applicant@example.org")
    response = upload(ana, page_url(world), content, filename)
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body
    assert message in body and "error-summary" in body or 'class="error"' in body
    assert message in body
    assert kept(uploads_app) == (0, 0, 0)
    assert actions(uploads_app, AuditAction.DOCUMENT_UPLOADED) == []


def test_no_file_or_no_purpose_is_asked_for_again(uploads_app, world):
    ana = logged_in(uploads_app, "applicant@example.org")
    no_file = ana.submit(page_url(world), {"purpose": "transcript"})
    assert no_file.status_code == 200 and "Choose a file to upload." in no_file.get_data(as_text=True)
    no_purpose = upload(ana, page_url(world), TRANSCRIPT, purpose="")
    assert no_purpose.status_code == 200 and "Choose what the document is." in no_purpose.get_data(as_text=True)
    signed_form = upload(ana, page_url(world), TRANSCRIPT, purpose="signed_rating_form")
    assert signed_form.status_code == 200 and "Not a valid choice" in signed_form.get_data(as_text=True)
    assert kept(uploads_app) == (0, 0, 0)


class DeclaredBody(io.RawIOBase):
    """A request body of `size` zero bytes made on demand; counts what the portal reads of it."""

    def __init__(self, size: int):
        self.size, self.position, self.read_so_far = size, 0, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        self.position = offset if whence == io.SEEK_SET else self.size + offset
        return self.position

    def tell(self):
        return self.position

    def readinto(self, buffer):
        n = min(len(buffer), self.size - self.position)
        buffer[:n] = b"\0" * n
        self.position += n
        self.read_so_far += n
        return n


def test_a_50_mb_upload_is_answered_413_with_a_clear_page_without_being_read(uploads_app, world):
    ana = logged_in(uploads_app, "applicant@example.org")
    body = DeclaredBody(50 * 1024 * 1024)
    response = ana.client.post(page_url(world), input_stream=body, content_type="multipart/form-data; boundary=x")
    page = response.get_data(as_text=True)
    assert response.status_code == 413 and "larger than the portal accepts (10 MB at most)" in page
    assert "Nothing was saved" in page
    assert body.read_so_far < 1024 * 1024
    assert kept(uploads_app) == (0, 0, 0)


def test_a_real_multipart_body_over_the_limit_is_413_and_a_file_just_over_the_size_is_refused(make_app, world):
    app = make_app(DOCUMENT_MAX_BYTES=1024 * 1024)
    ana = logged_in(app, "applicant@example.org")
    token = csrf_token_from(ana.get(page_url(world)).get_data(as_text=True))
    over = b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 300 * 1024)  # past the document's limit and the form's room
    response = ana.client.post(
        page_url(world), data={"csrf_token": token, "purpose": "transcript", "document": (io.BytesIO(over), "big.pdf")}
    )
    assert response.status_code == 413 and "(1 MB at most)" in response.get_data(as_text=True)
    just_over = pdf("a scan", payload_bytes=1024 * 1024 + 1024)  # within the form's room, over the file's limit
    refused = upload(ana, page_url(world), just_over, "scan.pdf")
    assert refused.status_code == 200 and "larger than 1 MB" in refused.get_data(as_text=True)
    assert kept(app) == (0, 0, 0)


def test_while_clamd_is_down_an_upload_waits_shown_as_being_scanned_and_is_never_served_until_clean(
    uploads_app, world, clamd_server
):
    uploads_app.config["CLAMD_ADDRESS"] = CLAMD_DOWN
    ana = logged_in(uploads_app, "applicant@example.org")
    assert upload(ana, page_url(world), png(), "certificate.png", "certificate").status_code == 302
    document = only_document(uploads_app)
    assert document.scan_state is ScanState.PENDING and document.content_type == "image/png"
    listing = ana.get(page_url(world)).get_data(as_text=True)
    assert "certificate.png" in listing and "being scanned" in listing
    assert f'href="/documents/{document.id}"' not in listing
    waiting = ana.get(f"/documents/{document.id}")
    assert waiting.status_code == 409 and "waiting for its virus scan" in waiting.get_data(as_text=True)

    uploads_app.config["CLAMD_ADDRESS"] = clamd_server.tcp_address  # clamd is back: the worker scans it
    with uploads_app.app_context():
        assert scan_due_documents().clean == 1
    assert ana.get(f"/documents/{document.id}").data == png()
    assert "ready" in ana.get(page_url(world)).get_data(as_text=True)


def test_one_more_than_the_count_limit_is_refused(make_app, world):
    app = make_app(DOCUMENT_MAX_PER_APPLICATION=2)
    ana = logged_in(app, "applicant@example.org")
    assert upload(ana, page_url(world), pdf("one"), "one.pdf").status_code == 302
    assert upload(ana, page_url(world), jpeg(), "two.jpg", "resume").status_code == 302
    third = upload(ana, page_url(world), pdf("three"), "three.pdf")
    assert third.status_code == 200 and "already holds 2 documents, the most it may keep" in third.get_data(
        as_text=True
    )
    assert kept(app)[0] == 2


def _submit(app, world) -> None:
    with app.app_context():
        application = db.session.get(Application, world["application"])
        transition(application, Event.SUBMIT, actor=application.applicant)
        db.session.commit()


def test_a_submitted_application_takes_no_upload_and_keeps_its_documents(uploads_app, world):
    ana = logged_in(uploads_app, "applicant@example.org")
    assert upload(ana, page_url(world), TRANSCRIPT).status_code == 302
    document = only_document(uploads_app)
    token = csrf_token_from(ana.get(page_url(world)).get_data(as_text=True))
    _submit(uploads_app, world)

    page = ana.get(page_url(world)).get_data(as_text=True)
    assert "transcript.pdf" in page and "stay as they were sent" in page and "Add a document" not in page
    assert "Remove transcript.pdf" not in page
    refused = ana.client.post(
        page_url(world),
        data={"csrf_token": token, "purpose": "resume", "document": (io.BytesIO(pdf("cv")), "cv.pdf")},
    )
    assert refused.status_code == 409 and "documents can be added only while it is a draft" in refused.get_data(
        as_text=True
    )
    removal = ana.client.post(
        f"{page_url(world)}/{document.id}/remove", data={"csrf_token": token}, follow_redirects=True
    )
    assert "stay as they were sent. Nothing was removed." in removal.get_data(as_text=True)
    assert kept(uploads_app) == (1, 0, 1)


def test_another_applicants_application_and_documents_are_404(uploads_app, world):
    ana = logged_in(uploads_app, "applicant@example.org")
    assert upload(ana, page_url(world), TRANSCRIPT).status_code == 302
    document = only_document(uploads_app)
    otto = logged_in(uploads_app, "other@example.org")
    assert otto.get(page_url(world)).status_code == 404
    token = csrf_token_from(otto.get("/dashboard").get_data(as_text=True))
    posted = otto.client.post(
        page_url(world), data={"csrf_token": token, "purpose": "transcript", "document": (io.BytesIO(pdf()), "x.pdf")}
    )
    assert posted.status_code == 404
    assert otto.client.post(f"{page_url(world)}/{document.id}/remove", data={"csrf_token": token}).status_code == 404
    assert otto.get(f"/documents/{document.id}").status_code == 404
    for email in ("rev@example.org", "admin@example.org"):  # staff use the file page, not the applicant's
        assert logged_in(uploads_app, email).get(page_url(world)).status_code == 404
    assert kept(uploads_app) == (1, 0, 1)


def test_the_applicant_removes_their_own_document_and_its_bytes_go_after_the_commit(uploads_app, world):
    ana = logged_in(uploads_app, "applicant@example.org")
    assert upload(ana, page_url(world), TRANSCRIPT).status_code == 302
    document = only_document(uploads_app)
    assert kept(uploads_app) == (1, 0, 1)
    response = ana.submit(f"{page_url(world)}/{document.id}/remove", {}, form_url=page_url(world))
    assert response.status_code == 302
    assert "transcript.pdf is removed." in ana.get(page_url(world)).get_data(as_text=True)
    assert kept(uploads_app) == (0, 0, 0)
    (removed,) = actions(uploads_app, AuditAction.DOCUMENT_REMOVED)
    assert removed.object_type == "application" and removed.object_id == world["application"]
    assert removed.details == {"document": document.id, "purpose": "transcript", "filename": "transcript.pdf"}
    assert ana.get(f"/documents/{document.id}").status_code == 404
    # The file's audit trail keeps the removal.
    assert "document.removed" in logged_in(uploads_app, "admin@example.org").get(
        f"/review/applications/{world['application']}"
    ).get_data(as_text=True)


def test_a_removal_rolled_back_keeps_the_row_and_the_bytes(uploads_app, world):
    ana = logged_in(uploads_app, "applicant@example.org")
    assert upload(ana, page_url(world), TRANSCRIPT).status_code == 302
    document = only_document(uploads_app)

    class Failed(Exception):
        pass

    with uploads_app.test_request_context(), pytest.raises(Failed), unit_of_work():
        from refportal.applications.documents import remove_document

        application = db.session.get(Application, world["application"])
        remove_document(
            application=application, document=db.session.get(Document, document.id), actor=application.applicant
        )
        raise Failed  # e.g. the request's commit failed
    assert kept(uploads_app) == (1, 0, 1)
    assert actions(uploads_app, AuditAction.DOCUMENT_REMOVED) == []
    with uploads_app.test_request_context(), unit_of_work():  # the next commit does not take them either
        db.session.add(db.session.get(Application, world["application"]))
    assert kept(uploads_app) == (1, 0, 1)


def test_a_document_of_another_application_is_404_under_ones_own(uploads_app, world):
    uploads_app.config["CLAMD_ADDRESS"] = ""  # make_scanned_document marks it clean itself
    with uploads_app.app_context():
        from tests.factories import make_application, make_scanned_document

        otto = db.session.scalars(sa.select(User).where(User.email == "other@example.org")).one()
        theirs = make_scanned_document(make_application(otto).id, otto).id
        db.session.commit()
    ana = logged_in(uploads_app, "applicant@example.org")
    token = csrf_token_from(ana.get(page_url(world)).get_data(as_text=True))
    assert ana.client.post(f"{page_url(world)}/{theirs}/remove", data={"csrf_token": token}).status_code == 404
    assert kept(uploads_app)[0] == 1


# ------------------------------------------------------------------------------------------------
# Staff: on the applicant's behalf, and the file page


def staff_url(world) -> str:
    return f"/review/applications/{world['application']}/documents"


def test_an_administrator_uploads_on_the_applicants_behalf_at_any_state(uploads_app, world):
    _submit(uploads_app, world)
    admin = logged_in(uploads_app, "admin@example.org")
    file_page = admin.get(f"/review/applications/{world['application']}").get_data(as_text=True)
    assert "Add a document on the applicant's behalf" in file_page and staff_url(world) in file_page
    response = upload(admin, staff_url(world), pdf("RSC log signed by the provider"), "rsc.pdf", "rsc_verification")
    assert response.status_code == 302, response.get_data(as_text=True)
    document = only_document(uploads_app)
    with uploads_app.app_context():
        assert db.session.get(User, document.uploaded_by_id).email == "admin@example.org"
    (uploaded,) = actions(uploads_app, AuditAction.DOCUMENT_UPLOADED)
    assert uploaded.details["by_staff"] is True and uploaded.details["purpose"] == "rsc_verification"

    ana = logged_in(uploads_app, "applicant@example.org")
    listing = ana.get(page_url(world)).get_data(as_text=True)
    assert "rsc.pdf" in listing and "by Alex Admin (association staff)" in listing
    assert ana.get(f"/documents/{document.id}").status_code == 200

    # A reviewer does not upload; a bad file through the staff's page is refused the same way.
    assert logged_in(uploads_app, "rev@example.org").get(staff_url(world)).status_code == 404
    refused = upload(admin, staff_url(world), EXECUTABLE, "rsc2.pdf", "rsc_verification")
    assert refused.status_code == 200 and "a PDF, or a PNG or JPEG image" in refused.get_data(as_text=True)
    assert kept(uploads_app)[0] == 1


def test_the_applicant_may_not_remove_what_staff_uploaded(uploads_app, world):
    admin = logged_in(uploads_app, "admin@example.org")
    assert upload(admin, staff_url(world), TRANSCRIPT).status_code == 302
    document = only_document(uploads_app)
    ana = logged_in(uploads_app, "applicant@example.org")
    page = ana.get(page_url(world)).get_data(as_text=True)
    assert "Remove transcript.pdf" not in page
    token = csrf_token_from(page)
    removal = ana.client.post(
        f"{page_url(world)}/{document.id}/remove", data={"csrf_token": token}, follow_redirects=True
    )
    assert "was added by the association" in removal.get_data(as_text=True)
    assert kept(uploads_app) == (1, 0, 1)


def test_the_file_page_groups_documents_by_purpose_and_opens_only_clean_ones(uploads_app, world, clamd_server):
    ana = logged_in(uploads_app, "applicant@example.org")
    assert upload(ana, page_url(world), TRANSCRIPT, "transcript.pdf").status_code == 302
    uploads_app.config["CLAMD_ADDRESS"] = CLAMD_DOWN
    assert upload(ana, page_url(world), pdf("my cv"), "cv.pdf", "resume").status_code == 302
    with uploads_app.app_context():
        clean, pending = db.session.scalars(sa.select(Document).order_by(Document.id)).all()
        clean_id, pending_id = clean.id, pending.id
    rita = logged_in(uploads_app, "rev@example.org")
    page = rita.get(f"/review/applications/{world['application']}").get_data(as_text=True)
    section = page[page.index('id="documents-title"') : page.index("<h2>Ratings</h2>")]
    assert "<h3>Transcript</h3>" in section and "<h3>Résumé</h3>" in section
    assert section.index("Transcript") < section.index("Résumé")
    assert f'href="/documents/{clean_id}"' in section and "ready" in section
    assert "cv.pdf" in section and "being scanned" in section and f'href="/documents/{pending_id}"' not in section
    assert "Add a document on the applicant's behalf" not in page  # administrators only

    with uploads_app.app_context():
        rafe = db.session.scalars(sa.select(User).where(User.email == "rev2@example.org")).one()
        recuse(application=db.session.get(Application, world["application"]), reviewer=rafe, reason="Neighbour")
        db.session.commit()
    page = logged_in(uploads_app, "rev2@example.org").get(f"/review/applications/{world['application']}")
    section = page.get_data(as_text=True)
    section = section[section.index('id="documents-title"') : section.index("<h2>Ratings</h2>")]
    assert "transcript.pdf" in section and "ready" in section and "/documents/" not in section  # a conflict


# ------------------------------------------------------------------------------------------------
# Every document × every role


def _enter_paper_rating(app, world, index: int) -> int:
    admin = logged_in(app, "admin@example.org")
    url = f"/review/applications/{world['application']}/references/{world['references'][index]}/paper"
    data = {
        **full_answers(attestation_name=f"Referee {index}"),
        "signed_form": (io.BytesIO(pdf(f"signed {index}")), "f.pdf"),
    }
    assert admin.submit(url, data).status_code == 302
    with app.app_context():
        return db.session.get(Reference, world["references"][index]).rating.signed_form_id


def test_every_document_opens_only_for_those_allowed(uploads_app, world):
    """Documents: Ana's own transcript, one staff added for her, the signed rating form of a reference she
    did not waive, and of one she waived. Rita is assigned to the file; Rafe recused himself (a conflict
    of interest), though reviewers may read files they are not assigned to."""
    ana = logged_in(uploads_app, "applicant@example.org")
    assert upload(ana, page_url(world), TRANSCRIPT).status_code == 302
    admin = logged_in(uploads_app, "admin@example.org")
    assert upload(admin, staff_url(world), pdf("certificate"), "cert.pdf", "certificate").status_code == 302
    not_waived = _enter_paper_rating(uploads_app, world, 0)
    waived = _enter_paper_rating(uploads_app, world, 1)
    with uploads_app.app_context():
        own, by_staff = db.session.scalars(
            sa.select(Document.id).where(Document.purpose != "signed_rating_form").order_by(Document.id)
        ).all()
        application = db.session.get(Application, world["application"])
        transition(application, Event.SUBMIT, actor=application.applicant)
        users = {u.email: u for u in db.session.scalars(sa.select(User))}
        assign(application=application, reviewer=users["rev@example.org"], actor=users["admin@example.org"])
        recuse(application=application, reviewer=users["rev2@example.org"], reason="Former colleague")
        db.session.commit()
    documents = {"own": own, "by_staff": by_staff, "form_not_waived": not_waived, "form_waived": waived}
    allowed = {
        "applicant@example.org": {"own", "by_staff", "form_not_waived"},
        "other@example.org": set(),
        "rev@example.org": set(documents),  # assigned, no conflict
        "rev2@example.org": set(),  # recused: a conflict of interest
        "admin@example.org": set(documents),
    }
    failures = []
    for email, may in allowed.items():
        browser = logged_in(uploads_app, email)
        for name, document_id in documents.items():
            status = browser.get(f"/documents/{document_id}").status_code
            if status != (200 if name in may else 404):
                failures.append(f"{email} opening {name}: {status}")
    anonymous = uploads_app.test_client()
    for name, document_id in documents.items():
        response = anonymous.get(f"/documents/{document_id}")
        if not (response.status_code == 302 and "/login" in response.headers["Location"]):
            failures.append(f"anonymous opening {name}: {response.status_code}")
    assert not failures, "\n".join(failures)
    opened = actions(uploads_app, AuditAction.DOCUMENT_DOWNLOADED)
    assert len(opened) == sum(len(may) for may in allowed.values())


# ------------------------------------------------------------------------------------------------
# The administrators' list


def test_quarantined_and_long_pending_documents_are_listed_with_a_rescan_for_the_pending(
    uploads_app, world, clamd_server, outbox
):
    uploads_app.config["CLAMD_ADDRESS"] = CLAMD_DOWN
    ana = logged_in(uploads_app, "applicant@example.org")
    for content, name in ((INFECTED_PDF, "infected.pdf"), (pdf("waits"), "waits.pdf"), (pdf("new"), "new.pdf")):
        assert upload(ana, page_url(world), content, name).status_code == 302
    with uploads_app.app_context():
        infected, waits, new = db.session.scalars(sa.select(Document).order_by(Document.id)).all()
        ids = infected.id, waits.id, new.id
        infected.uploaded_at = waits.uploaded_at = utcnow() - timedelta(hours=1)
        waits.next_scan_at = utcnow() + timedelta(hours=3)  # backed off after failed scans
        new.next_scan_at = utcnow() + timedelta(hours=3)
        db.session.commit()
    uploads_app.config["CLAMD_ADDRESS"] = clamd_server.tcp_address
    with uploads_app.app_context(), unit_of_work():
        from refportal.documents.services import scan_document

        scan_document(db.session.get(Document, ids[0]))
    assert only_state(uploads_app, ids[0]) is ScanState.QUARANTINED
    assert any(row.template == "document_quarantined" for row in outbox())

    admin = logged_in(uploads_app, "admin@example.org")
    page = admin.get("/admin/documents/").get_data(as_text=True)
    assert "infected.pdf" in page and "Refportal.Test.InfectedPdf" in page and "quarantined" in page
    assert "waits.pdf" in page and "being scanned" in page and "Scan waits.pdf now" in page
    assert "Scan infected.pdf now" not in page
    assert "new.pdf" not in page and "1 more is waiting for less than that" in page
    assert f"/review/applications/{world['application']}" in page
    assert "/admin/documents/" in admin.get("/admin/users").get_data(as_text=True)

    response = admin.submit(f"/admin/documents/{ids[1]}/rescan", {}, form_url="/admin/documents/")
    assert response.status_code == 302
    with uploads_app.app_context():
        assert db.session.get(Document, ids[1]).next_scan_at <= utcnow()
    (rescan,) = actions(uploads_app, AuditAction.DOCUMENT_RESCAN_REQUESTED)
    assert rescan.object_id == ids[1]
    with uploads_app.app_context():
        assert scan_due_documents().clean == 1  # the worker's next pass: waits.pdf (new.pdf is not due)
    assert only_state(uploads_app, ids[1]) is ScanState.CLEAN

    refused = admin.submit(f"/admin/documents/{ids[0]}/rescan", {}, form_url="/admin/documents/", follow_redirects=True)
    assert "nothing to rescan" in refused.get_data(as_text=True)
    assert len(actions(uploads_app, AuditAction.DOCUMENT_RESCAN_REQUESTED)) == 1
    for email in ("rev@example.org", "applicant@example.org"):
        assert logged_in(uploads_app, email).get("/admin/documents/").status_code == 404


def only_state(app, document_id: int) -> ScanState:
    with app.app_context():
        return db.session.get(Document, document_id).scan_state


# ------------------------------------------------------------------------------------------------
# S3


def test_the_same_upload_download_and_removal_on_the_s3_backend(make_app, clamd_server, s3_server):
    import boto3

    settings = s3_settings(s3_server)
    app = make_app(CLAMD_ADDRESS=clamd_server.tcp_address, **settings)
    with app.app_context():
        world = asked_referees()
    ana = logged_in(app, "applicant@example.org")
    assert upload(ana, page_url(world), TRANSCRIPT).status_code == 302
    document = only_document(app)
    assert document.storage == "s3" and document.scan_state is ScanState.CLEAN
    assert ana.get(f"/documents/{document.id}").data == TRANSCRIPT
    client = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
    )

    def objects() -> int:
        return client.list_objects_v2(Bucket=settings["DOCUMENT_S3_BUCKET"]).get("KeyCount", 0)

    assert objects() == 1
    assert ana.submit(f"{page_url(world)}/{document.id}/remove", {}, form_url=page_url(world)).status_code == 302
    assert objects() == 0 and kept(app)[0] == 0
