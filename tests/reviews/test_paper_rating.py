"""Staff enter a referee's rating from the paper or PDF form the referee signed: through the test client,
with a real clamd scanning the signed form; the refused cases change nothing; the signed form is opened
only by those who may read the rating, and every opening is audited."""

from __future__ import annotations

import io
import tracemalloc

import pytest
import sqlalchemy as sa

from refportal.accounts.models import User
from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.documents.lifecycle import ScanState
from refportal.documents.models import Document, DocumentBlob
from refportal.extensions import db
from refportal.references.lifecycle import ReferenceStatus
from refportal.references.models import Rating, Reference
from refportal.reviews.assignments import recuse
from tests.builders import logged_in
from tests.documents_samples import EXECUTABLE, INFECTED_PDF, pdf, png
from tests.references.helpers import full_answers
from tests.reviews.helpers import asked_referees
from tests.web import csrf_token_from

SIGNED = pdf("signed by Sam Supervisor")


@pytest.fixture
def paper_app(make_app, clamd_server):
    return make_app(CLAMD_ADDRESS=clamd_server.tcp_address, DOCUMENT_STORAGE="database")


@pytest.fixture
def world(paper_app):
    with paper_app.app_context():
        return asked_referees()


def paper_url(world, index: int = 0) -> str:
    return f"/review/applications/{world['application']}/references/{world['references'][index]}/paper"


def enter(browser, url: str, *, file: tuple[bytes, str] | None = (SIGNED, "signed-form.pdf"), **changes):
    data = full_answers(**changes)
    if file is not None:
        data["signed_form"] = (io.BytesIO(file[0]), file[1])
    return browser.submit(url, data)


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return (
            db.session.scalar(sa.select(sa.func.count(Rating.id))),
            db.session.scalar(sa.select(sa.func.count(Document.id))),
            db.session.scalar(sa.select(sa.func.count()).select_from(DocumentBlob)),
        )


def test_staff_enter_a_signed_paper_rating_end_to_end(paper_app, world, outbox):
    admin = logged_in(paper_app, "admin@example.org")
    file_url = f"/review/applications/{world['application']}"
    page = admin.get(file_url).get_data(as_text=True)
    assert "Enter a rating from the referee's signed paper form" in page and paper_url(world) in page

    form = admin.get(paper_url(world)).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form and "Sam Supervisor" in form
    response = enter(admin, paper_url(world))
    assert response.status_code == 302, response.get_data(as_text=True)

    with paper_app.app_context():
        reference = db.session.get(Reference, world["references"][0])
        assert reference.status is ReferenceStatus.SUBMITTED
        rating = reference.rating
        assert rating.entered_by.email == "admin@example.org" and rating.counts
        document = rating.signed_form
        assert document.scan_state is ScanState.CLEAN and document.filename == "signed-form.pdf"
        event = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == AuditAction.REFERENCE_SUBMITTED)
        ).one()
        assert event.actor_id == rating.entered_by_id and event.details["entered_by_staff"] is True
        assert event.details["signed_form"] == document.id
        document_id = document.id
    assert [m.template for m in outbox("applicant@example.org")][-1] == "reference_submitted"
    assert [m.template for m in outbox("sam@example.net")][-1] == "reference_receipt"

    page = admin.get(file_url).get_data(as_text=True)
    assert "Entered by staff</strong> (Alex Admin)" in page
    assert f"/documents/{document_id}" in page and "entered_by_staff: True" in page

    download = admin.get(f"/documents/{document_id}")
    assert download.status_code == 200 and download.data == SIGNED
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in download.headers["Content-Security-Policy"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    inline = admin.get(f"/documents/{document_id}?inline=1")
    assert inline.headers["Content-Disposition"].startswith("inline;") and inline.data == SIGNED
    with paper_app.app_context():
        downloads = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == AuditAction.DOCUMENT_DOWNLOADED)
        ).all()
        assert [(e.object_id, e.details.get("inline")) for e in downloads] == [(document_id, None), (document_id, True)]
    assert "document.downloaded (document #" in admin.get(file_url).get_data(as_text=True)


def test_a_reference_already_submitted_or_withdrawn_takes_no_paper_rating(paper_app, world):
    admin = logged_in(paper_app, "admin@example.org")
    assert enter(admin, paper_url(world)).status_code == 302
    before = counts(paper_app)
    page = admin.get(paper_url(world)).get_data(as_text=True)
    assert "rating is already in" in page and 'enctype="multipart/form-data"' not in page
    # A POST from a page opened before the first entry:
    token = csrf_token_from(admin.get(paper_url(world, 1)).get_data(as_text=True))
    again = admin.client.post(
        paper_url(world), data={"csrf_token": token, **full_answers(), "signed_form": (io.BytesIO(SIGNED), "x.pdf")}
    )
    assert again.status_code == 409 and "rating is already in" in again.get_data(as_text=True)
    assert counts(paper_app) == before

    with paper_app.app_context():
        db.session.get(Reference, world["references"][1]).status = ReferenceStatus.WITHDRAWN
        db.session.commit()
    page = admin.get(paper_url(world, 1)).get_data(as_text=True)  # no form to submit, the reason instead
    assert "This reference was withdrawn" in page and 'enctype="multipart/form-data"' not in page
    token = csrf_token_from(admin.get(paper_url(world, 2)).get_data(as_text=True))
    refused = admin.client.post(
        paper_url(world, 1), data={"csrf_token": token, **full_answers(), "signed_form": (io.BytesIO(SIGNED), "x.pdf")}
    )
    assert refused.status_code == 409 and "This reference was withdrawn" in refused.get_data(as_text=True)
    assert counts(paper_app) == before


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (None, "Upload the form the referee signed"),
        ((EXECUTABLE, "signed.pdf"), "is not a PDF, or a PNG or JPEG image"),
        ((pdf(javascript="app.alert(1)"), "signed.pdf"), "contains JavaScript"),
        ((INFECTED_PDF, "signed.pdf"), "The virus scan found"),
        ((SIGNED, "../../signed.pdf"), "must not contain"),
    ],
)
def test_a_missing_or_bad_signed_form_enters_nothing_and_keeps_what_was_typed(paper_app, world, file, message):
    admin = logged_in(paper_app, "admin@example.org")
    response = enter(admin, paper_url(world), file=file, strengths="Typed strengths, kept on the page.")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and message in body and "Nothing was entered" in body
    assert "Typed strengths, kept on the page." in body
    assert counts(paper_app) == (0, 0, 0)
    with paper_app.app_context():
        assert db.session.get(Reference, world["references"][0]).status is ReferenceStatus.INVITED


def test_missing_answers_are_marked_and_nothing_is_entered(paper_app, world):
    admin = logged_in(paper_app, "admin@example.org")
    response = enter(admin, paper_url(world), recommendation="", attestation_name="")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Some answers are missing" in body
    assert "Type your full name to sign the rating." in body
    assert counts(paper_app) == (0, 0, 0)


def test_a_2_gb_upload_is_answered_413_with_a_clear_page_without_being_read(paper_app, world, capsys):
    admin = logged_in(paper_app, "admin@example.org")

    class Endless(io.RawIOBase):
        """A 2 GB body made on demand (its size is its end); counts what the portal reads of it."""

        size, position, read_so_far = 2 * 1024**3, 0, 0

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

    body = Endless()
    tracemalloc.start()
    try:
        response = admin.client.post(
            paper_url(world),
            input_stream=body,
            content_type="multipart/form-data; boundary=x",
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    with capsys.disabled():
        print(f"\n2 GB upload: read {body.read_so_far} bytes of it, peak traced memory {peak / 2**20:.2f} MiB")
    page = response.get_data(as_text=True)
    assert response.status_code == 413 and "larger than the portal accepts (10 MB at most)" in page
    assert body.read_so_far < 1024 * 1024 and peak < 5 * 1024 * 1024
    assert counts(paper_app) == (0, 0, 0)


def test_while_clamd_is_down_the_rating_is_entered_and_its_form_waits_for_the_scan(paper_app, world):
    paper_app.config["CLAMD_ADDRESS"] = ""
    admin = logged_in(paper_app, "admin@example.org")
    assert enter(admin, paper_url(world), file=(png(), "scan.png")).status_code == 302
    with paper_app.app_context():
        document = db.session.scalars(sa.select(Document)).one()
        assert document.scan_state is ScanState.PENDING and document.content_type == "image/png"
        document_id = document.id
    page = admin.get(f"/review/applications/{world['application']}").get_data(as_text=True)
    assert "scan.png — awaiting the virus scan" in page
    waiting = admin.get(f"/documents/{document_id}")
    assert waiting.status_code == 409 and "waiting for its virus scan" in waiting.get_data(as_text=True)


def test_the_signed_form_opens_only_for_those_who_may_read_the_rating(paper_app, world):
    admin = logged_in(paper_app, "admin@example.org")
    for index in (0, 1):  # the first not waived, the second waived
        assert enter(admin, paper_url(world, index), attestation_name=f"Referee {index}").status_code == 302
    with paper_app.app_context():
        not_waived, waived = (
            db.session.get(Reference, reference_id).rating.signed_form_id for reference_id in world["references"][:2]
        )
        # Rafe declares a conflict of interest.
        recuse(
            application=db.session.get(Reference, world["references"][0]).application,
            reviewer=db.session.scalars(sa.select(User).where(User.email == "rev2@example.org")).one(),
            reason="Former colleague",
        )
        db.session.commit()
    expected = {
        "admin@example.org": (200, 200),
        "rev@example.org": (200, 200),  # no conflict
        "rev2@example.org": (404, 404),  # recused: a conflict of interest
        "applicant@example.org": (200, 404),  # only where the right to see was not waived
        "other@example.org": (404, 404),
    }
    for email, (first, second) in expected.items():
        browser = logged_in(paper_app, email)
        got = (browser.get(f"/documents/{not_waived}").status_code, browser.get(f"/documents/{waived}").status_code)
        assert got == (first, second), email
    # The applicant's own page of each reference offers the form only where they may read the rating.
    applicant = logged_in(paper_app, "applicant@example.org")
    base = f"/applications/{world['application']}/references"
    assert f"/documents/{not_waived}" in applicant.get(f"{base}/{world['references'][0]}").get_data(as_text=True)
    page = applicant.get(f"{base}/{world['references'][1]}").get_data(as_text=True)
    assert "/documents/" not in page and "Entered by" not in page
    anonymous = paper_app.test_client().get(f"/documents/{not_waived}")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    with paper_app.app_context():
        readers = db.session.scalars(
            sa.select(AuditEvent.actor_id).where(AuditEvent.action == AuditAction.DOCUMENT_DOWNLOADED)
        ).all()
        assert len(readers) == 5  # admin ×2, Rita ×2, the applicant ×1: only the openings that were allowed


@pytest.mark.parametrize("storage", ["filesystem", "database"])
def test_a_5_mb_signed_form_goes_through_a_spooled_file(paper_app, world, storage, capsys):
    """The form parser spools the upload to a temporary file: the request's peak memory stays well under
    what a body held in memory would take (the database backend holds the bytes once, to store them)."""
    import time

    paper_app.config["DOCUMENT_STORAGE"] = storage
    admin = logged_in(paper_app, "admin@example.org")
    five_mb = pdf("a large scan", payload_bytes=5 * 1024 * 1024)
    token = csrf_token_from(admin.get(paper_url(world)).get_data(as_text=True))
    data = {"csrf_token": token, **full_answers(), "signed_form": (io.BytesIO(five_mb), "scan.pdf")}
    tracemalloc.start()
    started = time.perf_counter()
    try:
        response = admin.client.post(paper_url(world), data=data)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 302, response.get_data(as_text=True)
    with capsys.disabled():
        print(f"\n5 MB signed form ({storage}): {elapsed:.2f} s, peak traced memory {peak / 2**20:.1f} MiB")
    # Never the body twice over: the filesystem backend copies from the spooled file (the PDF check reads
    # one stream object at a time); the database backend holds the bytes once more, to store them.
    assert peak < (1.5 if storage == "filesystem" else 2.5) * len(five_mb)
    with paper_app.app_context():
        document = db.session.scalars(sa.select(Document)).one()
        assert document.size == len(five_mb) and document.scan_state is ScanState.CLEAN


@pytest.mark.parametrize("attempt", range(3))
def test_a_paper_rating_racing_the_referees_own_submission_leaves_one_rating(paper_app, world, outbox, attempt):
    """Real threads: the referee submits from their link while staff enter the paper form; one rating is
    stored, the other side is told, nothing answers 500, and a refused paper entry keeps no document."""
    from tests.references.helpers import prepared_submission, referee_path
    from tests.support import run_together

    link = referee_path(outbox, "sam@example.net")
    referee, data = prepared_submission(paper_app, link)
    admin = logged_in(paper_app, "admin@example.org")
    token = csrf_token_from(admin.get(paper_url(world)).get_data(as_text=True))
    paper = {"csrf_token": token, **full_answers(), "signed_form": (io.BytesIO(SIGNED), "signed.pdf")}
    own, entered = run_together(
        lambda: referee.post(f"{link}/submit", data=data),
        lambda: admin.client.post(paper_url(world), data=paper),
    )
    assert not isinstance(own, Exception) and not isinstance(entered, Exception), (own, entered)
    assert own.status_code != 500 and entered.status_code != 500
    with paper_app.app_context():
        ratings = db.session.scalars(sa.select(Rating)).all()
        documents = db.session.scalar(sa.select(sa.func.count(Document.id)))
    assert len(ratings) == 1
    if ratings[0].entered_by_id is not None:  # the paper entry won
        assert entered.status_code == 302 and documents == 1
    else:
        assert entered.status_code == 409 and "rating is already in" in entered.get_data(as_text=True)
        assert documents == 0
