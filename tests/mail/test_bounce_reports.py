"""Delivery reports that arrive after the relay accepted a message: VERP, the parser, the webhook
and the IMAP mailbox, against a real SMTP server, a real IMAP server (dovecot) and the database."""

from __future__ import annotations

import re
from email.utils import parseaddr

import pytest
import sqlalchemy as sa

from refportal.extensions import db
from refportal.mail.bounces import IGNORE, PERMANENT, TRANSIENT, read_bounce_report
from refportal.mail.models import OutboxStatus
from refportal.mail.sender import deliver_due
from refportal.mail.verp import VerpCheck, bounce_address, check_verp
from refportal.references.models import ReferenceStatus
from tests.mail.bounce_helpers import (
    BOUNCE_BASE,
    CORPUS,
    EXPECTED,
    REFEREE,
    SECRET,
    deliver,
    post_report,
    report_about,
    row_for,
    state,
)
from tests.references.conftest import ready_applicant
from tests.references.helpers import nominate_three, send_requests


def test_the_corpus_is_complete():
    assert {p.stem for p in CORPUS.glob("*.eml")} == set(EXPECTED)


# ------------------------------------------------------------------------------------------------
# VERP on the wire


def test_the_envelope_sender_is_the_signed_verp_address_and_the_header_from_is_unchanged(sent_world):
    app, smtp_server, _ = sent_world
    assert len(smtp_server.delivered) == 3
    for delivered in smtp_server.delivered:
        row = row_for(app, delivered.rcpt_tos[0])
        with app.app_context():
            assert delivered.mail_from == bounce_address(row.id)
            assert check_verp(delivered.mail_from) == (VerpCheck.VALID, row.id)
        assert delivered.mail_from.startswith(f"bounces+{row.id}-")
        assert delivered.mail_from.endswith("@refs.example.org")
        assert parseaddr(delivered.message["From"])[1] == "no-reply@refportal.invalid"
        assert delivered.message["Message-ID"] == f"<outbox-{row.id}@portal.example.test>"


def test_without_a_bounce_address_the_envelope_sender_is_the_portal_address(smtp_app, smtp_server):
    browser, application = ready_applicant(smtp_app)
    nominate_three(browser, application.id)
    send_requests(browser, application.id)
    with smtp_app.app_context():
        assert deliver_due().sent == 3
    assert {d.mail_from for d in smtp_server.delivered} == {"no-reply@refportal.invalid"}


def test_a_signature_under_an_older_key_is_accepted_and_a_changed_one_is_not(make_app):
    old = make_app(BOUNCE_ADDRESS=BOUNCE_BASE, SECRET_KEY="the-old-key-of-the-portal-before-rotation")
    with old.app_context():
        address = bounce_address(42)
    rotated = make_app(
        BOUNCE_ADDRESS=BOUNCE_BASE,
        SECRET_KEY="the-new-key-after-rotation-of-the-portal",
        SECRET_KEY_FALLBACKS=["the-old-key-of-the-portal-before-rotation"],
    )
    other = make_app(BOUNCE_ADDRESS=BOUNCE_BASE, SECRET_KEY="the-new-key-after-rotation-of-the-portal")
    with rotated.app_context():
        assert check_verp(address) == (VerpCheck.VALID, 42)
        assert check_verp(address.upper()) == (VerpCheck.VALID, 42)  # a relay may change the case
        assert check_verp(address.replace("+42-", "+43-")) == (VerpCheck.FORGED, None)
        assert check_verp("bounces@refs.example.org") == (VerpCheck.NONE, None)
        assert check_verp("someone+42-abc@elsewhere.example") == (VerpCheck.NONE, None)
    with other.app_context():
        assert check_verp(address) == (VerpCheck.FORGED, None)


# ------------------------------------------------------------------------------------------------
# The corpus, by both intakes


@pytest.mark.parametrize("via", ["webhook", "imap"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_format_by_each_intake(sent_world, name, via):
    app, _, imap_server = sent_world
    raw = report_about(app, name)
    before = state(app)
    with app.app_context():
        verdict = read_bounce_report(raw)
    assert verdict.kind == EXPECTED[name], verdict
    if EXPECTED[name] == IGNORE:
        assert verdict.note == "an auto-reply"  # recognised as one, not merely found wanting
    deliver(app, imap_server, raw, via)
    after = state(app)
    row = row_for(app, REFEREE)
    if EXPECTED[name] == PERMANENT:
        assert after["references"][REFEREE] == ReferenceStatus.BOUNCED
        assert after["notices"] == 1
        assert row.bounced_at is not None and row.bounce_reason.startswith(("5.", "550"))
        assert row.status == OutboxStatus.SENT  # it was sent; the report says it bounced later
        assert after["events"][len(before["events"]) :] == ["email.bounced", "reference.bounced"]
        # The same report again (relays repeat themselves) changes nothing and tells nobody twice.
        deliver(app, imap_server, raw, via)
        assert state(app) == after
    elif EXPECTED[name] == TRANSIENT:
        assert after["references"] == before["references"]
        assert after["notices"] == 0
        assert row.delayed_at is not None and row.bounced_at is None
        assert row.delay_reason and re.search(r"\b4\.\d\.\d|\b4\d\d\b", row.delay_reason), row.delay_reason
        assert after["events"][len(before["events"]) :] == ["email.delayed"]
    else:
        assert after == before
    # The other referees are untouched either way.
    assert {k: v for k, v in after["references"].items() if k != REFEREE} == {
        "sam@example.net": ReferenceStatus.INVITED,
        "cole@example.net": ReferenceStatus.INVITED,
    }


@pytest.mark.parametrize("name", sorted(n for n, kind in EXPECTED.items() if kind != IGNORE))
def test_without_verp_the_original_message_id_and_recipient_find_the_message(sent_world, name):
    app, _, _ = sent_world
    raw = report_about(app, name, to_verp=False)
    with app.app_context():
        verdict = read_bounce_report(raw)
    assert (verdict.kind, verdict.outbox_id) == (EXPECTED[name], row_for(app, REFEREE).id), verdict
    assert verdict.note == "matched by Message-ID and recipient"


def test_a_message_id_with_another_recipient_is_not_matched(sent_world):
    app, _, _ = sent_world
    raw = report_about(app, "postfix_permanent", to_verp=False).replace(REFEREE.encode(), b"someone@example.net")
    before = state(app)
    assert post_report(app, raw).get_json()["outcome"] == "ignore"
    assert state(app) == before


@pytest.mark.parametrize("via", ["webhook", "imap"])
def test_a_forged_verp_signature_changes_nothing(sent_world, via):
    app, _, imap_server = sent_world
    row = row_for(app, REFEREE)
    with app.app_context():
        good = bounce_address(row.id)
    forged = good[: good.index("-") + 1] + "0" * 20 + good[good.index("@") :]
    raw = report_about(app, "postfix_permanent", report_to=forged).replace(good.encode(), forged.encode())
    assert good.encode() not in raw
    before = state(app)
    deliver(app, imap_server, raw, via)
    assert state(app) == before


def test_a_verp_address_of_another_row_signed_right_is_what_counts(sent_world):
    """The signature, not the Message-ID in the body, says which message failed."""
    app, _, _ = sent_world
    sam = row_for(app, "sam@example.net")
    raw = report_about(app, "postfix_permanent", row_id=sam.id)  # Rae's address, Sam's VERP
    post_report(app, raw)
    statuses = state(app)["references"]
    assert statuses["sam@example.net"] == ReferenceStatus.BOUNCED
    assert statuses[REFEREE] == ReferenceStatus.INVITED


def test_an_smtp_refusal_and_a_later_report_tell_the_applicant_once(make_app, smtp_server):
    smtp_server.handler.rcpt_replies[REFEREE] = "550 5.1.1 mailbox unavailable"
    app = make_app(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_server.port,
        MAIL_TIMEOUT_SECONDS=5,
        BOUNCE_ADDRESS=BOUNCE_BASE,
        BOUNCE_WEBHOOK_SECRET=SECRET,
    )
    browser, application = ready_applicant(app)
    nominate_three(browser, application.id)
    send_requests(browser, application.id)
    with app.app_context():
        assert deliver_due().failed == 1
    after_smtp = state(app)
    assert after_smtp["references"][REFEREE] == ReferenceStatus.BOUNCED and after_smtp["notices"] == 1
    assert post_report(app, report_about(app, "gmail_permanent")).get_json()["outcome"] == "ignore"
    assert state(app) == after_smtp


def test_a_delay_then_a_failure_bounces_the_reference_once(sent_world):
    app, _, _ = sent_world
    post_report(app, report_about(app, "postfix_delayed"))
    post_report(app, report_about(app, "postfix_permanent"))
    final = state(app)
    assert final["references"][REFEREE] == ReferenceStatus.BOUNCED and final["notices"] == 1
    row = row_for(app, REFEREE)
    assert row.delay_reason.startswith("4.4.1") and row.bounce_reason.startswith("5.1.1")


def test_a_report_about_a_reference_no_longer_live_changes_nothing_but_the_row(sent_world):
    """A referee who already answered: the report is recorded on the message, the reference stays."""
    app, _, _ = sent_world
    with app.app_context():
        from refportal.references.models import Reference

        reference = db.session.scalars(sa.select(Reference).where(Reference.email == REFEREE)).one()
        reference.status = ReferenceStatus.SUBMITTED
        db.session.commit()
    post_report(app, report_about(app, "postfix_permanent"))
    final = state(app)
    assert final["references"][REFEREE] == ReferenceStatus.SUBMITTED and final["notices"] == 0
    assert row_for(app, REFEREE).bounced_at is not None
