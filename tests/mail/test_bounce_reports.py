"""Delivery reports that arrive after the relay accepted a message: VERP, the parser, the webhook
and the IMAP mailbox, against a real SMTP server, a real IMAP server (dovecot) and the database."""

from __future__ import annotations

import re
from email.utils import parseaddr

import pytest
import sqlalchemy as sa

from refportal.extensions import db
from refportal.mail import signatures
from refportal.mail.bounces import IGNORE, PERMANENT, TRANSIENT, read_bounce_report
from refportal.mail.models import OutboxEmail, OutboxStatus
from refportal.mail.sender import deliver_due
from refportal.mail.verp import VerpCheck, bounce_address, check_verp
from refportal.mail.wire import message_id
from refportal.references.models import ReferenceStatus
from tests.builders import ready_applicant
from tests.mail.bounce_helpers import (
    BOUNCE_BASE,
    CORPUS,
    EXPECTED,
    PORTAL_FROM,
    REFEREE,
    SECRET,
    deliver,
    hand_made_report,
    post_report,
    report_about,
    row_for,
    state,
)
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
        with app.app_context():
            assert delivered.message["Message-ID"] == message_id(row.id)
        assert (row.return_path, row.status) == (delivered.mail_from, OutboxStatus.SENT)
        signed = rf"<outbox-{row.id}\.[0-9a-f]{{20}}@portal\.example\.test>"
        assert re.fullmatch(signed, delivered.message["Message-ID"])


def test_without_a_bounce_address_the_envelope_sender_is_the_portal_address(smtp_app, smtp_server):
    browser, application = ready_applicant(smtp_app)
    nominate_three(browser, application.id)
    send_requests(browser, application.id)
    with smtp_app.app_context():
        assert deliver_due().sent == 3
    assert {d.mail_from for d in smtp_server.delivered} == {"no-reply@refportal.invalid"}
    with smtp_app.app_context():
        assert {r.return_path for r in db.session.scalars(sa.select(OutboxEmail))} == {"no-reply@refportal.invalid"}


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


def test_message_ids_are_signed_for_their_own_purpose_and_survive_a_key_rotation(make_app):
    """A Message-ID made under an older key still names its message after rotation; a VERP signature
    is no Message-ID signature (one key per purpose); the same row always gets the same Message-ID."""
    old = make_app(SECRET_KEY="the-old-key-of-the-portal-before-rotation")
    with old.app_context():
        before = message_id(42)
        assert message_id(42) == before
        verp_signature = signatures.sign(signatures.VERP, 42)
    rotated = make_app(
        SECRET_KEY="the-new-key-after-rotation-of-the-portal",
        SECRET_KEY_FALLBACKS=["the-old-key-of-the-portal-before-rotation"],
    )
    other = make_app(SECRET_KEY="the-new-key-after-rotation-of-the-portal")
    report = hand_made_report(message_ids=(before,))
    with rotated.app_context():
        assert message_id(42) != before  # new messages: the new key
        assert read_bounce_report(report).note.endswith("about an outbox message that no longer exists")
        assert signatures.verify(signatures.MESSAGE_ID, 42, before[before.index(".") + 1 : before.index("@")])
        assert not signatures.verify(signatures.MESSAGE_ID, 42, verp_signature)
    with other.app_context():
        assert read_bounce_report(report).note == "a Message-ID of ours with a wrong signature"


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


# ------------------------------------------------------------------------------------------------
# Without VERP: the signed Message-ID and the recipient, only for messages sent without VERP


@pytest.mark.parametrize("name", sorted(n for n, kind in EXPECTED.items() if kind != IGNORE))
def test_without_verp_the_signed_message_id_and_recipient_find_the_message(plain_world, name):
    """A message sent without a VERP return path: its report comes to the plain mailbox and names it
    by its (signed) Message-ID and the failed recipient. (Before, the same test ran on messages sent
    WITH VERP and an unsigned Message-ID: both are now refused, see below.)"""
    app, _, _ = plain_world
    raw = report_about(app, name, to_verp=False)
    with app.app_context():
        verdict = read_bounce_report(raw)
    assert (verdict.kind, verdict.outbox_id) == (EXPECTED[name], row_for(app, REFEREE).id), verdict
    assert verdict.note == "matched by Message-ID and recipient"


@pytest.mark.parametrize("via", ["webhook", "imap"])
def test_without_verp_a_report_bounces_the_reference_by_both_intakes(plain_world, via):
    app, _, imap_server = plain_world
    deliver(app, imap_server, report_about(app, "postfix_permanent", to_verp=False), via)
    after = state(app)
    assert after["references"][REFEREE] == ReferenceStatus.BOUNCED and after["notices"] == 1
    assert after["references"]["sam@example.net"] == ReferenceStatus.INVITED


def test_a_message_id_with_another_recipient_is_not_matched(plain_world):
    app, _, _ = plain_world
    raw = report_about(app, "postfix_permanent", to_verp=False).replace(REFEREE.encode(), b"someone@example.net")
    before = state(app)
    assert post_report(app, raw).get_json()["outcome"] == "ignore"
    assert state(app) == before


def forged_reports(app) -> dict[str, bytes]:
    """What anyone can send to the plain bounce mailbox about Rae's request, given how ids are made:
    the old unsigned Message-ID, sequential guesses at it, her real Message-ID (she received it), a
    wrong or truncated signature."""
    rae = row_for(app, REFEREE)
    with app.app_context():
        real = message_id(rae.id)
    signature = real[real.index(".") + 1 : real.index("@")]
    return {
        "old unsigned": hand_made_report(message_ids=(f"<outbox-{rae.id}@portal.example.test>",)),
        "sequential guesses": hand_made_report(
            message_ids=tuple(f"<outbox-{n}@portal.example.test>" for n in range(1, 40))
        ),
        "real": hand_made_report(message_ids=(real,)),
        "wrong signature": hand_made_report(message_ids=(real.replace(signature, "0" * 20),)),
        "truncated signature": hand_made_report(message_ids=(real.replace(signature, signature[:12]),)),
        "another row's signature": hand_made_report(
            message_ids=(real.replace(f"outbox-{rae.id}.", f"outbox-{rae.id + 1}."),)
        ),
    }


@pytest.mark.parametrize("via", ["webhook", "imap"])
def test_a_message_sent_with_verp_is_never_bounced_by_its_message_id(sent_world, via):
    """Rae's request went out with a VERP return path: only a report that came back through it counts.
    A report to the plain mailbox naming her as failed recipient and her message's Message-ID — the old
    guessable one, a run of guesses, or even her real signed one — changes nothing."""
    app, _, imap_server = sent_world
    before = state(app)
    for name, raw in forged_reports(app).items():
        assert not re.search(rb"bounces\+\d", raw)
        result = deliver(app, imap_server, raw, via)
        if via == "webhook":
            assert result == {"outcome": "ignore", "outbox_id": None}, name
        assert state(app) == before, name


@pytest.mark.parametrize("via", ["webhook", "imap"])
def test_without_verp_only_the_genuine_signed_message_id_names_the_message(plain_world, via):
    """Sent without VERP: guessed, unsigned, forged or truncated Message-IDs change nothing; the real one does."""
    app, _, imap_server = plain_world
    before = state(app)
    reports = forged_reports(app)
    for name, raw in reports.items():
        if name != "real":
            deliver(app, imap_server, raw, via)
            assert state(app) == before, name
    deliver(app, imap_server, reports["real"], via)
    assert state(app)["references"][REFEREE] == ReferenceStatus.BOUNCED


def test_a_report_naming_several_of_our_messages_changes_nothing(plain_world):
    """One report, one message: a report that names two of ours (their real Message-IDs, their
    recipients) is about neither, so nobody can bounce many references with one report."""
    app, _, _ = plain_world
    rae, sam = row_for(app, REFEREE), row_for(app, "sam@example.net")
    with app.app_context():
        ids = (message_id(rae.id), message_id(sam.id))
    before = state(app)
    for recipients in ((REFEREE, "sam@example.net"), (REFEREE,)):
        response = post_report(app, hand_made_report(recipients=recipients, message_ids=ids))
        assert response.get_json() == {"outcome": "ignore", "outbox_id": None}
    assert state(app) == before
    with app.app_context():
        verdict = read_bounce_report(hand_made_report(message_ids=ids))
    assert verdict.note == "a permanent failure naming several of our messages by Message-ID"


def test_a_report_naming_two_verp_addresses_changes_nothing(sent_world):
    app, _, _ = sent_world
    rae, sam = row_for(app, REFEREE), row_for(app, "sam@example.net")
    with app.app_context():
        rae_verp, sam_verp = bounce_address(rae.id), bounce_address(sam.id)
    before = state(app)
    response = post_report(app, hand_made_report(to=rae_verp, return_path=sam_verp))
    assert response.get_json() == {"outcome": "ignore", "outbox_id": None}
    assert state(app) == before
    # The same address twice (To and the returned Return-Path) is one message.
    assert post_report(app, hand_made_report(to=rae_verp, return_path=rae_verp)).get_json()["outcome"] == "permanent"


def test_a_message_not_yet_sent_is_not_bounced_by_its_message_id(plain_world):
    """Queued (never sent) or tried and refused for now (4xx, queued again): no report can be about it."""
    app, smtp_server, _ = plain_world
    smtp_server.handler.rcpt_replies["later@example.net"] = "451 4.3.0 try again later"
    from tests.mail.helpers import queue

    app.config["BOUNCE_ADDRESS"] = None
    queue(app, "later@example.net", "queued@example.net")
    with app.app_context():
        later = row_for(app, "later@example.net")
        app.config["MAIL_BATCH_SIZE"] = 1
        assert deliver_due().retried == 1
        queued = row_for(app, "queued@example.net")
        reports = [
            hand_made_report(recipients=(row.to_address,), message_ids=(message_id(row.id),)) for row in (later, queued)
        ]
    app.config["BOUNCE_ADDRESS"] = BOUNCE_BASE
    before = state(app)
    assert row_for(app, "later@example.net").status == OutboxStatus.QUEUED
    for raw in reports:
        assert post_report(app, raw).get_json()["outcome"] == "ignore"
    assert state(app) == before


@pytest.mark.parametrize("verp_when_queued", [True, False])
def test_the_return_path_that_counts_is_the_one_the_message_was_sent_with(make_app, smtp_server, verp_when_queued):
    """BOUNCE_ADDRESS changed between queueing and sending: the row records the envelope sender of the
    transmission the server accepted, and that decides which report may name it."""
    app = make_app(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_server.port,
        MAIL_TIMEOUT_SECONDS=5,
        MAIL_DEFAULT_SENDER=PORTAL_FROM,
        BOUNCE_ADDRESS=BOUNCE_BASE if verp_when_queued else None,
        BOUNCE_WEBHOOK_SECRET=SECRET,
    )
    from tests.mail.helpers import queue

    queue(app, REFEREE)
    app.config["BOUNCE_ADDRESS"] = None if verp_when_queued else BOUNCE_BASE
    with app.app_context():
        assert deliver_due().sent == 1
    app.config["BOUNCE_ADDRESS"] = BOUNCE_BASE
    [delivered] = smtp_server.delivered
    row = row_for(app, REFEREE)
    assert row.return_path == delivered.mail_from
    with app.app_context():
        by_message_id = hand_made_report(message_ids=(message_id(row.id),))
        by_verp = hand_made_report(to=bounce_address(row.id))
    if verp_when_queued:  # sent without VERP after all: the Message-ID counts
        assert delivered.mail_from == "no-reply@refportal.invalid"
        assert post_report(app, by_message_id).get_json() == {"outcome": "permanent", "outbox_id": row.id}
    else:  # sent with VERP: only the VERP address counts
        assert delivered.mail_from == bounce_address_in(app, row.id)
        assert post_report(app, by_message_id).get_json()["outcome"] == "ignore"
        assert post_report(app, by_verp).get_json() == {"outcome": "permanent", "outbox_id": row.id}
    assert row_for(app, REFEREE).bounced_at is not None


def bounce_address_in(app, outbox_id: int) -> str:
    with app.app_context():
        return bounce_address(outbox_id)


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
