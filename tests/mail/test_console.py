"""The staff mail console: every message with its delivery, read by staff with secrets hidden, resent
by administrators (audited, rate-limited, a new outbox row), and a bounced referee's address corrected."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from refportal.accounts.models import Role
from refportal.audit.models import AuditEvent
from refportal.extensions import db
from refportal.mail.models import OutboxEmail, OutboxStatus
from refportal.mail.sender import deliver_due
from refportal.mail.wire import message_id
from refportal.references.lifecycle import ReferenceStatus
from refportal.references.models import Reference
from tests.builders import ready_applicant
from tests.factories import make_user
from tests.mail.helpers import COLE, RAE, SAM, row_to
from tests.references.helpers import nominate_three, send_requests
from tests.reviews.helpers import statements_for
from tests.web import Browser, csrf_token_from

TOKEN_IN_LINK = re.compile(r"/r/([A-Za-z0-9_.-]{20,})")


def outbox_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(OutboxEmail.id))) or 0


def listed(page_html: str) -> dict[str, str]:
    """Each listed row's recipient → its status badge text."""
    rows = re.findall(r"<tr>\s*<td>(\d+)</td>\s*<td>([^<]+)</td>(.*?)</tr>", page_html, re.S)
    found = {}
    for _, address, rest in rows:
        badge = re.search(r'class="badge badge-\w+">([^<]+)<', rest)
        found.setdefault(address, badge.group(1) if badge else "")
    return found


def test_staff_see_every_message_with_its_delivery_and_the_servers_reason(console_world):
    app, _, _, _, reviewer, _ = console_world
    page = reviewer.get("/staff/mail/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    states = listed(html)
    assert states[RAE] == "Bounced"
    assert states[SAM] == "Delayed"
    assert states[COLE] == "Retrying"
    assert states["applicant@example.org"] == "Queued"  # the bounce notice, not sent yet
    assert "451 4.3.0 Mailbox busy" in html and "next attempt" in html
    assert "5.1.1" in html  # the delivery report's status for Rae
    application_link = re.search(r'href="/review/applications/(\d+)"', html)
    assert application_link, "a referee's message links to the application it is about"


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("address=RAE@example", {RAE}, {SAM, COLE}),
        ("delivery=bounced", {RAE}, {SAM, COLE}),
        ("delivery=retrying", {COLE}, {SAM, RAE}),
        ("delivery=delayed", {SAM}, {RAE, COLE}),
        ("delivery=sent", set(), {SAM, RAE, COLE}),
        ("queued_from=2000-01-01&queued_to=2199-12-31", {SAM, RAE, COLE}, set()),
        ("queued_from=2199-01-01", set(), {SAM, RAE, COLE}),
        ("address=%25_%5C", set(), {SAM, RAE, COLE}),  # LIKE wildcards are taken literally
    ],
)
def test_filters_select_by_address_status_and_date(console_world, query, shown, hidden):
    _, _, _, _, reviewer, _ = console_world
    html = reviewer.get(f"/staff/mail/?{query}").get_data(as_text=True)
    states = listed(html)
    assert shown <= set(states), (query, states)
    assert not hidden & set(states), (query, states)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("queued_from=2026-13-45", "Not a valid date value."),
        ("delivery=lost", "Not a valid choice."),
        ("address=" + "x" * 300, "Field cannot be longer than 254 characters."),
        ("address=a%0Ab", "line break"),
        ("page=0", None),  # the first page
        ("page=99999999999", None),
    ],
)
def test_bad_filters_get_a_message_and_the_rest_still_works(console_world, query, message):
    _, _, _, _, reviewer, _ = console_world
    response = reviewer.get(f"/staff/mail/?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    if message:
        assert message in html  # the field's message
    assert RAE in html  # the bad filter is left out, the page still lists


def test_a_deep_page_past_the_end_is_empty_not_an_error(console_world):
    _, _, _, _, reviewer, _ = console_world
    response = reviewer.get("/staff/mail/?page=500")
    assert response.status_code == 200
    assert "No message matches." in response.get_data(as_text=True)


def test_the_message_as_sent_hides_every_link_secret_and_makes_no_link_clickable(console_world):
    app, _, _, _, reviewer, _ = console_world
    row = row_to(app, SAM)
    tokens = set(TOKEN_IN_LINK.findall(row.body_text))
    assert tokens, "the request carries the referee's link"
    page = reviewer.get(f"/staff/mail/{row.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert row.subject in html
    for token in tokens:
        assert token not in html
    assert "https://portal.example.test/r/[hidden]" in html
    assert 'href="https://portal.example.test/r/' not in html
    assert "Resend" not in html  # reviewers read only

    part = reviewer.get(f"/staff/mail/{row.id}/html")
    body = part.get_data(as_text=True)
    assert part.status_code == 200
    for token in tokens:
        assert token not in body
    assert "href=" not in body
    assert part.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert part.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert part.headers["Cache-Control"] == "no-store"


def test_an_administrator_resends_a_message_as_a_new_row_audited_and_delivered(console_world):
    app, smtp_server, _, _, _, admin = console_world
    original = row_to(app, RAE)
    page = admin.get(f"/staff/mail/{original.id}").get_data(as_text=True)
    assert "Resend this message" in page
    response = admin.submit(f"/staff/mail/{original.id}/resend", {}, form_url=f"/staff/mail/{original.id}")
    assert response.status_code == 302
    with app.app_context():
        copy = db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.resent_from_id == original.id)).one()
        assert (copy.to_address, copy.subject, copy.body_text, copy.body_html, copy.template) == (
            original.to_address,
            original.subject,
            original.body_text,
            original.body_html,
            original.template,
        )
        assert (copy.related_type, copy.related_id) == (original.related_type, original.related_id)
        assert copy.status is OutboxStatus.QUEUED and copy.bounced_at is None
        again = db.session.get(OutboxEmail, original.id)
        assert again.bounced_at is not None  # the original keeps its history
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "email.resent")).one()
        assert (event.object_id, event.details["original"]) == (copy.id, original.id)
        assert event.actor_id is not None
        copy_id = copy.id
        before = len(smtp_server.delivered)
        deliver_due()
    assert response.headers["Location"].endswith(f"/staff/mail/{copy_id}")
    arrived = smtp_server.delivered[before:]
    to_rae = [d for d in arrived if RAE in d.rcpt_tos]
    assert len(to_rae) == 1
    assert to_rae[0].mail_from.startswith(f"bounces+{copy_id}-"), "its own return path"
    with app.app_context():
        assert to_rae[0].message["Message-ID"] == message_id(copy_id) != message_id(original.id)


def test_reviewers_cannot_resend_or_correct(console_world):
    app, _, _, _, reviewer, _ = console_world
    row = row_to(app, RAE)
    before = outbox_count(app)
    token = csrf_token_from(reviewer.get(f"/staff/mail/{row.id}").get_data(as_text=True))
    assert reviewer.client.post(f"/staff/mail/{row.id}/resend", data={"csrf_token": token}).status_code == 404
    response = reviewer.client.post(
        f"/staff/mail/{row.id}/correct", data={"csrf_token": token, "email": "rae@home.example"}
    )
    assert response.status_code == 404
    assert outbox_count(app) == before


def test_a_resend_without_the_form_token_changes_nothing(console_world):
    app, _, _, _, _, admin = console_world
    row = row_to(app, RAE)
    before = outbox_count(app)
    assert admin.client.post(f"/staff/mail/{row.id}/resend").status_code == 400
    assert outbox_count(app) == before


def test_a_message_still_with_the_sender_is_not_resent(console_world):
    app, _, _, _, _, admin = console_world
    queued = row_to(app, "applicant@example.org", template="reference_bounced")
    retrying = row_to(app, COLE)
    before = outbox_count(app)
    for row in (queued, retrying):
        response = admin.submit(f"/staff/mail/{row.id}/resend", {}, form_url=f"/staff/mail/{row.id}")
        assert response.status_code == 302
        assert "still with the sender" in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert outbox_count(app) == before


def test_a_request_whose_link_was_revoked_is_not_resent(console_world):
    app, _, applicant, application, _, admin = console_world
    url = f"/applications/{application.id}"
    assert applicant.submit(f"{url}/withdraw", {}, form_url=url).status_code == 302  # every request ends
    row = row_to(app, SAM)
    before = outbox_count(app)
    response = admin.submit(f"/staff/mail/{row.id}/resend", {}, form_url=f"/staff/mail/{row.id}")
    assert "no longer leads to the rating form" in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert outbox_count(app) == before
    notice = row_to(app, SAM, template="reference_cancelled")  # a message without a link may go again
    with app.app_context():
        deliver_due()
    response = admin.submit(f"/staff/mail/{notice.id}/resend", {}, form_url=f"/staff/mail/{notice.id}")
    assert outbox_count(app) == before + 1


def test_resends_are_rate_limited_per_administrator(make_app, smtp_server):
    app = make_app(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, RATELIMIT_ENABLED=True, MAIL_RESEND_LIMIT="2 per hour"
    )
    applicant, application = ready_applicant(app)
    nominate_three(applicant, application.id)
    send_requests(applicant, application.id)
    with app.app_context():
        deliver_due()
        make_user(email="admin@example.org", role=Role.ADMIN)
    admin = Browser(app.test_client())
    admin.login("admin@example.org")
    row = row_to(app, SAM)
    codes = [
        admin.submit(f"/staff/mail/{row.id}/resend", {}, form_url=f"/staff/mail/{row.id}").status_code for _ in range(3)
    ]
    assert codes == [302, 302, 429]
    with app.app_context():
        copies = db.session.scalar(sa.select(sa.func.count()).where(OutboxEmail.resent_from_id == row.id))
    assert copies == 2


def test_an_administrator_corrects_a_bounced_referees_address(console_world):
    app, _, applicant, application, _, admin = console_world
    row = row_to(app, RAE)
    page = admin.get(f"/staff/mail/{row.id}").get_data(as_text=True)
    assert "Correct Rae Provider" in page
    before = outbox_count(app)

    bad = admin.submit(f"/staff/mail/{row.id}/correct", {"email": "not an address"}, form_url=f"/staff/mail/{row.id}")
    assert bad.status_code == 400 and "error" in bad.get_data(as_text=True)
    taken = admin.submit(f"/staff/mail/{row.id}/correct", {"email": SAM}, form_url=f"/staff/mail/{row.id}")
    assert taken.status_code == 400
    assert outbox_count(app) == before

    done = admin.submit(
        f"/staff/mail/{row.id}/correct", {"email": "rae@home.example"}, form_url=f"/staff/mail/{row.id}"
    )
    assert done.status_code == 302
    with app.app_context():
        statuses = {r.email: r.status for r in db.session.scalars(sa.select(Reference))}
        assert statuses[RAE] is ReferenceStatus.WITHDRAWN
        assert statuses["rae@home.example"] is ReferenceStatus.INVITED
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "reference.email_corrected")).one()
        assert event.actor_id is not None
    assert row_to(app, "rae@home.example").template == "reference_request"
    assert row_to(app, RAE, template="reference_cancelled")  # the old address is told
    references_page = applicant.get(f"/applications/{application.id}/references/").get_data(as_text=True)
    assert "rae@home.example" in references_page
    # Corrected once: the form is gone from the bounced message.
    assert "Correct Rae Provider" not in admin.get(f"/staff/mail/{row.id}").get_data(as_text=True)


def test_a_message_that_does_not_exist_is_404(console_world):
    _, _, _, _, reviewer, admin = console_world
    for path in ("/staff/mail/999999", "/staff/mail/999999/html"):
        assert reviewer.get(path).status_code == 404
    token = csrf_token_from(admin.get("/staff/mail/").get_data(as_text=True))
    assert admin.client.post("/staff/mail/999999/resend", data={"csrf_token": token}).status_code == 404


def test_the_console_page_costs_the_same_statements_at_any_outbox_size(console_world):
    app, _, _, _, reviewer, _ = console_world

    def add_messages(count: int) -> None:
        with app.app_context():
            template = db.session.get(OutboxEmail, 1)
            for n in range(count):
                db.session.add(
                    OutboxEmail(
                        template=template.template,
                        to_address=f"bulk{n}@example.net",
                        subject=template.subject,
                        body_text=template.body_text,
                        body_html=template.body_html,
                        related_type=template.related_type,
                        related_id=template.related_id,
                    )
                )
            db.session.commit()

    urls = ("/staff/mail/", "/staff/mail/?page=2&delivery=queued&address=bulk")
    add_messages(60)
    small = [statements_for(app, reviewer, url) for url in urls]
    add_messages(400)
    large = [statements_for(app, reviewer, url) for url in urls]
    assert small == large, (small, large)
