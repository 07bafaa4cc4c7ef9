"""The address policy: an address the portal cannot send to (characters other than ASCII before the @)
is refused with a clear message wherever an address enters, and one that was stored before the policy
fails on its own message without stopping the others."""

from __future__ import annotations

import email
import email.policy
import smtplib
from email.utils import getaddresses
from io import BytesIO

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refportal.accounts.models import Role, User
from refportal.extensions import db
from refportal.mail.addresses import ASCII_LOCAL_PART, normalize_email
from refportal.mail.models import OutboxEmail, OutboxStatus
from refportal.mail.sender import deliver_due
from refportal.mail.services import queue_email
from refportal.references.models import Reference, ReferenceStatus
from tests.builders import ready_applicant
from tests.factories import make_user
from tests.mail.helpers import RAE, row_to
from tests.references.helpers import nominate, nominate_three, send_requests
from tests.web import csrf_token_from

ACCENTED = "josé@example.org"
REFUSED_WORDS = "unaccented letters"


def outbox_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(OutboxEmail.id))) or 0


def test_registering_with_an_accented_address_is_refused_with_a_message(app, browser):
    response = browser.submit(
        "/register",
        {
            "name": "José",
            "email": ACCENTED,
            "password": "a long passphrase for 2026",
            "confirm": "a long passphrase for 2026",
        },
    )
    assert response.status_code == 200 and REFUSED_WORDS in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0
    assert outbox_count(app) == 0


def test_a_reset_request_for_an_accented_address_is_refused_with_a_message(app, browser):
    response = browser.submit("/password/forgot", {"email": ACCENTED})
    assert REFUSED_WORDS in response.get_data(as_text=True)
    assert outbox_count(app) == 0


def test_an_administrator_cannot_invite_an_accented_address(app, browser):
    with app.app_context():
        make_user(email="admin@example.org", role=Role.ADMIN)
    browser.login("admin@example.org")
    response = browser.submit(
        "/admin/users/invite", {"name": "José", "email": ACCENTED, "role": "reviewer"}, form_url="/admin/users"
    )
    assert REFUSED_WORDS in response.get_data(as_text=True)
    assert outbox_count(app) == 0


def test_an_accented_referee_address_is_refused_at_nomination_and_correction(app):
    browser, application = ready_applicant(app)
    refused = nominate(browser, application.id, email=ACCENTED)
    assert refused.status_code == 200 and REFUSED_WORDS in refused.get_data(as_text=True)
    nominate_three(browser, application.id)
    with app.app_context():
        first = db.session.scalars(sa.select(Reference).order_by(Reference.id)).first()
        assert first is not None
        first_id, first_email = first.id, first.email
    url = f"/applications/{application.id}/references/{first_id}/email"
    corrected = browser.submit(url, {"email": ACCENTED})
    assert REFUSED_WORDS in corrected.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Reference, first_id).email == first_email
        assert db.session.scalar(sa.select(sa.func.count(Reference.id))) == 3


def test_the_roster_keeps_a_member_with_an_accented_address_for_matching(app, browser):
    """The roster's addresses are only compared, never written to: the association's member list is
    imported whole (the member matches no applicant, who cannot have such an address)."""
    with app.app_context():
        make_user(email="admin@example.org", role=Role.ADMIN)
    browser.login("admin@example.org")
    body = f"member_number,email,name,expires_on\nM-1,{ACCENTED},José Ruiz,2030-01-01\n"
    page = browser.client.get("/admin/roster").get_data(as_text=True)
    response = browser.client.post(
        "/admin/roster",
        data={"csrf_token": csrf_token_from(page), "roster": (BytesIO(body.encode()), "roster.csv")},
        content_type="multipart/form-data",
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "not imported" not in text and "not an e-mail address" not in text


def test_create_user_on_the_command_line_refuses_an_accented_address(app, runner):
    result = runner.invoke(
        args=["create-user", "--email", ACCENTED, "--name", "José", "--role", "admin"],
        input="a long passphrase for 2026\na long passphrase for 2026\n",
    )
    assert result.exit_code != 0 and REFUSED_WORDS in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def _store_referee_address(app, reference_id: int, address: str) -> None:
    """An address stored before the policy (the forms refuse it now)."""
    with app.app_context():
        db.session.execute(sa.update(Reference).where(Reference.id == reference_id).values(email=address))
        db.session.commit()


def test_a_stored_accented_referee_fails_alone_and_the_other_two_are_asked(make_app, smtp_server):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, MAIL_TIMEOUT_SECONDS=5)
    browser, application = ready_applicant(app)
    nominate_three(browser, application.id)
    with app.app_context():
        first_id = db.session.scalars(sa.select(Reference.id).order_by(Reference.id)).first()
    _store_referee_address(app, first_id, ACCENTED)

    response = send_requests(browser, application.id)
    assert response.status_code == 302
    with app.app_context():
        statuses = {r.email: r.status for r in db.session.scalars(sa.select(Reference))}
        assert statuses[ACCENTED] is ReferenceStatus.BOUNCED
        assert sorted(s.value for e, s in statuses.items() if e != ACCENTED) == ["invited", "invited"]
        failed = db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.to_address == ACCENTED)).one()
        assert failed.status is OutboxStatus.FAILED and "cannot send to this address" in failed.last_error
        report = deliver_due()
    assert report.sent == 3  # two requests and the applicant's notice of the failed one
    assert sorted(d.rcpt_tos[0] for d in smtp_server.delivered) == sorted(
        ["applicant@example.org", "rae@example.net", "cole@example.net"]
    )
    page = browser.get(f"/applications/{application.id}/references/").get_data(as_text=True)
    assert "personal e-mail address" in page  # the applicant is told what to do


def test_a_queued_row_the_sender_cannot_send_fails_alone_and_the_batch_goes_on(make_app, smtp_server):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, MAIL_TIMEOUT_SECONDS=5)
    with app.app_context():
        for to in ("first@example.org", ACCENTED, "third@example.org"):
            db.session.add(OutboxEmail(template="t", to_address=to, subject="s", body_text="b", body_html="<p>b</p>"))
        db.session.commit()  # no wire message yet: rows queued before it was stored
        report = deliver_due()
        assert (report.sent, report.failed) == (2, 1)
        failed = db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.to_address == ACCENTED)).one()
        assert failed.status is OutboxStatus.FAILED and ASCII_LOCAL_PART in failed.last_error
    assert sorted(d.rcpt_tos[0] for d in smtp_server.delivered) == ["first@example.org", "third@example.org"]


addresses = st.one_of(
    st.emails(),
    st.builds(
        lambda local, domain: f"{local}@{domain}",
        st.text(min_size=1, max_size=30).filter(lambda s: "@" not in s),
        st.sampled_from(["example.org", "exámple.org", "例え.jp", "EXAMPLE.ORG", "a.b"]),
    ),
    st.text(max_size=40),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(address=addresses)
def test_every_address_is_refused_with_a_message_or_can_go_on_the_wire(app_ctx, address):
    """Property: the policy refuses an address with a reason, or the address it keeps is ASCII before
    the @, its message builds, and its wire form names exactly that recipient in ASCII (as an SMTP
    server reads it)."""
    try:
        kept = normalize_email(address)
    except ValueError as exc:
        assert str(exc)
        return
    local, _, domain = kept.rpartition("@")
    assert local.isascii() and "\n" not in kept
    row = queue_email("verify_email", kept, valid_hours=72, name="Tester", link="https://portal.example.test/x")
    assert row.status is OutboxStatus.QUEUED and row.wire_message is not None
    message = email.message_from_bytes(row.wire_message, policy=email.policy.compat32)
    ascii_form = f"{local}@{domain.encode('idna').decode('ascii')}"
    assert [address for _, address in getaddresses(message.get_all("To"))] == [ascii_form]
    smtplib.quoteaddr(ascii_form).encode("ascii")  # the RCPT TO command can be written
    db.session.rollback()


def test_the_mail_consoles_correction_refuses_an_accented_address(console_world):  # noqa: F811
    app, _, _, _, _, admin = console_world
    row = row_to(app, RAE)
    before = outbox_count(app)
    response = admin.submit(f"/staff/mail/{row.id}/correct", {"email": ACCENTED}, form_url=f"/staff/mail/{row.id}")
    assert response.status_code == 400 and REFUSED_WORDS in response.get_data(as_text=True)
    assert outbox_count(app) == before
