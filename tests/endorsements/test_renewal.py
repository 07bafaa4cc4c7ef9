"""The endorsee's renewal through the web client: start it once the window is open, declare the
membership, add the year's training and RSC, sign the attestations, watch the checklist go from "not yet"
to met, submit (e-mail with the fee), and every refusal: bad hours and dates, hostile text, another
renewal's entry, a stale page, a lapsed or not-yet-due endorsement, someone else's renewal, a second
submission. Starting from two sessions at once on PostgreSQL starts one renewal."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.db import utc_today
from refportal.endorsements import renewals
from refportal.endorsements.lifecycle import EndorsementStatus
from refportal.endorsements.models import Endorsement, Renewal, RenewalStatus
from refportal.extensions import db
from refportal.mail.models import OutboxEmail
from refportal.membership.models import Association
from refportal.portfolio.models import Portfolio, RscEntry, RscFormat, TrainingEntry
from tests.builders import logged_in, settle_renewal_fees
from tests.factories import EndorsementFactory, RenewalFactory, TrainingEntryFactory, make_user
from tests.support import require, run_together
from tests.web import csrf_token_from

DAY = timedelta(days=1)
NUMBER = "IMH-RNW2K7QX"
EMAIL = "rowan@example.org"


def make_endorsement(
    app,
    *,
    number: str = NUMBER,
    email: str = EMAIL,
    status: EndorsementStatus = EndorsementStatus.RENEWAL_DUE,
    ends_in_days: int = 30,
    category: int = 2,
) -> None:
    """An endorsement issued about a year ago whose period ends `ends_in_days` from today."""
    today = utc_today()
    with app.app_context():
        user = make_user(email=email, name="Rowan Renewer")
        ends_on = today + ends_in_days * DAY
        EndorsementFactory(
            holder=user,
            number=number,
            status=status,
            category=category,
            issued_on=ends_on - 365 * DAY,
            period_starts_on=ends_on - 365 * DAY,
            period_ends_on=ends_on,
        )
        db.session.commit()


def page_of(number: str = NUMBER) -> str:
    return f"/endorsements/{number}/renewal"


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


class Endorsee:
    """The endorsee's browser on their renewal page: each action posts the page's own form."""

    def __init__(self, app, email: str = EMAIL, number: str = NUMBER):
        self.browser = logged_in(app, email)
        self.number = number

    def page(self):
        response = self.browser.get(page_of(self.number))
        assert response.status_code == 200
        return response

    def version(self) -> str:
        found = re.search(r'name="version" type="hidden" value="(\d+)"', self.page().get_data(as_text=True))
        if found is None:
            found = re.search(r'name="version"[^>]*value="(\d+)"', self.page().get_data(as_text=True))
        assert found, "the page carries no version"
        return found.group(1)

    def post(self, action: str, data: dict, *, version: str | None = None, prefix: str = "", entry: str | None = None):
        """Post the page's own form for `action` (its hidden fields as the browser sends them, the one of
        entry `entry` for a remove button) with `data` typed in; `version` instead of the page's."""
        sent = MultiDict(self.hidden_fields(action, entry))
        for name, value in data.items():
            sent.setlist(name, value if isinstance(value, list) else [value])
        if version is not None:
            sent.setlist(f"{prefix}version", [version])
        return self.browser.client.post(f"{page_of(self.number)}/{action}", data=sent)

    def hidden_fields(self, action: str, entry: str | None = None) -> list[tuple[str, str]]:
        html = self.page().get_data(as_text=True)
        forms = re.findall(
            rf'<form method="post" action="{re.escape(page_of(self.number))}/{action}"[^>]*>(.*?)</form>', html, re.S
        )
        for form in forms:
            fields = [
                (re.search(r'name="([^"]*)"', tag).group(1), (re.search(r'value="([^"]*)"', tag) or [None, ""])[1])
                for tag in re.findall(r'<input[^>]*type="hidden"[^>]*>', form)
            ]
            if entry is None or ("entry_id", entry) in fields:
                return fields
        # No such form on the page (not editable, or no such entry): post what a stale page would have.
        token = csrf_token_from(html)
        found = re.search(r'name="(?:[a-z]+-)?version"[^>]*value="(\d+)"', html)
        return [("csrf_token", token), ("version", found.group(1) if found else "1")]

    def start(self):
        token = csrf_token_from(self.page().get_data(as_text=True))
        return self.browser.client.post(f"{page_of(self.number)}/start", data={"csrf_token": token})

    def membership(self, expires_on: date, extra: dict | None = None):
        data = {
            "membership-association": "infancy_onward",
            "membership-member_number": "M-1234",
            "membership-expires_on": expires_on.isoformat(),
            **{f"membership-{k}": v for k, v in (extra or {}).items()},
        }
        return self.post("membership", data, prefix="membership-")

    def training(self, hours: str, taken_on: date, title: str = "Attachment in the first year", **flags):
        data = {
            "training-title": title,
            "training-provider": "Regional association",
            "training-taken_on": taken_on.isoformat(),
            "training-hours": hours,
            **{f"training-{k}": "y" for k, on in flags.items() if on},
        }
        return self.post("training", data, prefix="training-")

    def rsc(self, hours: str, starts_on: date, ends_on: date):
        data = {
            "rsc-provider": "Morgan Reyes",
            "rsc-provider_credential": "IMH-E Mentor–Clinical",
            "rsc-starts_on": starts_on.isoformat(),
            "rsc-ends_on": ends_on.isoformat(),
            "rsc-hours": hours,
            "rsc-format": "individual",
        }
        return self.post("rsc", data, prefix="rsc-")

    def declarations(self, *attestations: str, provides_rsc: bool = False):
        data: dict = {"declarations-attestations": list(attestations)}
        if provides_rsc:
            data["declarations-provides_rsc"] = "y"
        return self.post("declarations", data, prefix="declarations-")

    def submit(self, version: str | None = None):
        return self.post("submit", {}, version=version)

    def remove(self, kind: str, entry_id: int | str, version: str | None = None):
        """The entry's own remove button, or (for an entry not on the page) the first one's with these values."""
        if (kind, str(entry_id)) in self.entries_on_page():
            return self.post("remove", {}, version=version, entry=str(entry_id))
        return self.post("remove", {"kind": kind, "entry_id": str(entry_id)}, version=version)

    def entries_on_page(self) -> set[tuple[str, str]]:
        html = self.page().get_data(as_text=True)
        return set(
            re.findall(
                r'name="kind" type="hidden" value="(\w+)"><input name="entry_id" type="hidden" value="(\d+)"', html
            )
        )


def flashed(endorsee: Endorsee) -> str:
    return text_of(endorsee.page())


def the_renewal(app, number: str = NUMBER) -> Renewal:
    with app.app_context():
        renewal = db.session.scalars(
            sa.select(Renewal).join(Endorsement).where(Endorsement.number == number)
        ).one_or_none()
        if renewal is not None:
            renewal.portfolio.training, renewal.portfolio.rsc  # noqa: B018 - loaded
        db.session.expunge_all()
        return renewal


def renewal_state(app, number: str = NUMBER) -> tuple:
    """What the endorsee has recorded, to check that a refusal changed nothing."""
    with app.app_context():
        renewal = db.session.scalars(sa.select(Renewal).join(Endorsement).where(Endorsement.number == number)).one()
        return (
            renewal.status,
            renewal.version,
            renewal.association,
            renewal.member_number,
            renewal.membership_expires_on,
            tuple(renewal.attestations),
            renewal.provides_rsc,
            tuple((e.title, e.taken_on, e.hours) for e in renewal.portfolio.training),
            tuple((e.provider, e.starts_on, e.ends_on, e.hours) for e in renewal.portfolio.rsc),
            db.session.scalar(sa.select(sa.func.count(AuditEvent.id))),
        )


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def checklist_rows(response) -> dict[str, str]:
    """The checklist's rows: requirement label (with what is needed) → "Met" or "Not yet"."""
    html = response.get_data(as_text=True)
    table = html.split('class="renewal-checklist"', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr class=\"(?:met|not-met)\">(.*?)</tr>", table, re.S):
        cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        rows[f"{cells[0]}: {cells[1]}"] = cells[3]
    return rows


# ------------------------------------------------------------------------------------------------
# The whole flow


def test_the_endorsee_renews_from_start_to_submission(app, outbox):
    make_endorsement(app)
    today = utc_today()
    me = Endorsee(app)
    for start_from in ("/dashboard", "/endorsements/registry-listing"):
        assert f'href="/endorsements/{NUMBER}/renewal"' in me.browser.get(start_from).get_data(as_text=True)
    page = text_of(me.page())
    assert "Start my renewal" in page and (today + 30 * DAY).strftime("%d %B %Y") in page

    assert me.start().status_code == 302
    assert "Your renewal is started" in flashed(me)
    rows = checklist_rows(me.page())
    assert set(rows.values()) == {"Not yet"}
    assert "Relationship-based training this year: at least 15 hours" in rows
    assert "Reflective supervision/consultation received: at least 12 hours" in rows
    assert 'disabled aria-describedby="submit-reason"' in me.page().get_data(as_text=True)

    # Training: 14.75 hours is not yet enough; a quarter more is.
    assert me.training("10", today - 40 * DAY).status_code == 302
    assert me.training("4.75", today - 20 * DAY, about_rsc=True).status_code == 302
    assert checklist_rows(me.page())["Relationship-based training this year: at least 15 hours"] == "Not yet"
    assert me.training("0.25", today).status_code == 302
    assert checklist_rows(me.page())["Relationship-based training this year: at least 15 hours"] == "Met"

    assert me.rsc("12", today - 200 * DAY, today - 10 * DAY).status_code == 302
    next_period = today + 31 * DAY
    assert me.membership(next_period).status_code == 302
    assert me.declarations("code_of_ethics").status_code == 302
    rows = checklist_rows(me.page())
    assert [label for label, state in rows.items() if state == "Not yet"] == [
        "Attestation: No licensing or certification board has sanctioned me or restricted my practice this year."
    ]
    refused = me.submit()
    assert refused.status_code == 302
    assert "cannot be submitted yet. Still missing: 1 attestation(s) not signed" in flashed(me)
    assert renewal_state(app)[0] is RenewalStatus.DRAFT

    assert me.declarations("code_of_ethics", "no_sanction").status_code == 302
    assert set(checklist_rows(me.page()).values()) == {"Met"}
    # Every requirement met, the fee not yet paid: not submitted, and the page says what is owed.
    assert "Still to pay first: $40.00" in text_of(me.page())
    assert me.submit().status_code == 302
    assert "fees are not paid yet: $40.00 is still to pay" in flashed(me)
    assert renewal_state(app)[0] is RenewalStatus.DRAFT
    with app.app_context():
        settle_renewal_fees(
            db.session.scalars(sa.select(Renewal).join(Endorsement).where(Endorsement.number == NUMBER)).one()
        )
    before = the_renewal(app).version
    assert me.submit().status_code == 302
    page = flashed(me)
    assert "Your renewal is submitted" in page and "waiting for staff" in page
    assert "Save the membership" not in page and "Add the training" not in page

    renewal = the_renewal(app)
    assert renewal.status is RenewalStatus.SUBMITTED and renewal.submitted_at is not None
    assert renewal.late is False and renewal.version == before + 1
    assert renewal.member_number == "M-1234" and len(renewal.portfolio.training) == 3
    assert renewal.attestations == ["code_of_ethics", "no_sanction"]
    [email] = [row for row in outbox(EMAIL) if row.template == "renewal_received"]
    assert "15 hours" in email.body_text and "12 hours" in email.body_text
    assert "Renewal fee: 40 USD" in email.body_text and "Late fee" not in email.body_text
    assert "Total: 40 USD" in email.body_text
    assert f"/endorsements/{NUMBER}/renewal" in email.body_text
    actions = audit_actions(app)
    assert actions.count(AuditAction.RENEWAL_ENTRY_ADDED) == 4
    for action in (
        AuditAction.RENEWAL_STARTED,
        AuditAction.RENEWAL_MEMBERSHIP_SAVED,
        AuditAction.RENEWAL_DECLARATIONS_SAVED,
        AuditAction.RENEWAL_SUBMITTED,
    ):
        assert action in actions

    # A second submission of the same renewal is refused, and nothing changes.
    state = renewal_state(app)
    assert me.submit(version=str(renewal.version)).status_code == 302
    assert "submitted and waiting for staff" in flashed(me)
    assert renewal_state(app) == state
    assert len([row for row in outbox(EMAIL) if row.template == "renewal_received"]) == 1


def complete_renewal(app, *, number: str = NUMBER, paid: bool = True, **renewal_fields) -> int:
    """A renewal with everything a category 2 renewal needs, for the endorsement `number` (its fees
    settled unless `paid` is False)."""
    today = utc_today()
    with app.app_context():
        endorsement = db.session.scalars(sa.select(Endorsement).where(Endorsement.number == number)).one()
        renewal = RenewalFactory(
            endorsement=endorsement,
            association=Association.INFANCY_ONWARD,
            member_number="M-9",
            membership_expires_on=endorsement.period_ends_on + 365 * DAY,
            attestations=["code_of_ethics", "no_sanction"],
            **renewal_fields,
        )
        TrainingEntryFactory(portfolio=renewal.portfolio, hours=Decimal(15), taken_on=today - 10 * DAY)
        db.session.add(
            RscEntry(
                portfolio=renewal.portfolio,
                provider="Morgan Reyes",
                starts_on=endorsement.period_starts_on,
                ends_on=endorsement.period_starts_on + 100 * DAY,
                hours=Decimal(12),
                format=RscFormat.GROUP,
            )
        )
        db.session.commit()
        if paid and renewal.is_editable:
            settle_renewal_fees(renewal)
        return renewal.id


def test_a_renewal_submitted_in_grace_owes_the_late_fee(app, outbox):
    make_endorsement(app, status=EndorsementStatus.GRACE, ends_in_days=-3)
    complete_renewal(app)
    me = Endorsee(app)
    page = text_of(me.page())
    assert "Late fee" in page and "75" in page  # 40 + 35, before submitting
    assert me.submit().status_code == 302
    assert the_renewal(app).late is True
    [email] = [row for row in outbox(EMAIL) if row.template == "renewal_received"]
    assert "Late fee (after the period ended): 35 USD" in email.body_text and "Total: 75 USD" in email.body_text


def test_staff_asking_for_more_reopens_editing_with_their_message(app, outbox):
    make_endorsement(app)
    complete_renewal(app, status=RenewalStatus.MORE_REQUESTED, staff_message="Please add <b>the certificate</b> dates.")
    me = Endorsee(app)
    html = me.page().get_data(as_text=True)
    assert "Staff ask for more" in html and "Please add &lt;b&gt;the certificate&lt;/b&gt; dates." in html
    assert "Add the training" in html
    assert me.training("1", utc_today() - DAY).status_code == 302
    assert me.submit().status_code == 302
    renewal = the_renewal(app)
    assert renewal.status is RenewalStatus.SUBMITTED and len(renewal.portfolio.training) == 2
    assert renewal.staff_message == "Please add <b>the certificate</b> dates."  # staff's, kept for them


def test_a_refused_renewal_shows_the_reason_and_cannot_be_changed(app):
    make_endorsement(app)
    complete_renewal(app, status=RenewalStatus.REFUSED, staff_message="The membership could not be confirmed.")
    me = Endorsee(app)
    page = text_of(me.page())
    assert "Your renewal was refused." in page and "The membership could not be confirmed." in page
    assert "Submit my renewal" not in page
    state = renewal_state(app)
    assert me.submit(version=str(state[1])).status_code == 302
    assert "refused: it can no longer be changed" in flashed(me)
    assert renewal_state(app) == state


def test_after_approval_the_page_says_renewed_until(app):
    make_endorsement(app)
    complete_renewal(app, status=RenewalStatus.APPROVED)
    with app.app_context():  # approval starts the next period (the staff side's doing)
        endorsement = db.session.scalars(sa.select(Endorsement).where(Endorsement.number == NUMBER)).one()
        endorsement.status = EndorsementStatus.ACTIVE
        endorsement.period_starts_on = endorsement.period_ends_on + DAY
        endorsement.period_ends_on = endorsement.period_ends_on + 365 * DAY
        db.session.commit()
        new_end = endorsement.period_ends_on
    me = Endorsee(app)
    page = text_of(me.page())
    assert f"Your endorsement is renewed until {new_end:%d %B %Y}" in page
    assert "Start my renewal" not in page
    assert me.start().status_code == 302
    assert "Your renewal opens on" in flashed(me)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Renewal.id))) == 1


# ------------------------------------------------------------------------------------------------
# When a renewal cannot be started


@pytest.mark.parametrize(
    ("status", "ends_in_days", "message"),
    [
        (EndorsementStatus.ACTIVE, 120, "Your renewal opens on"),
        (EndorsementStatus.LAPSED, -60, "has lapsed, so it can no longer be renewed"),
        (EndorsementStatus.RELINQUISHED, 30, "You relinquished this endorsement"),
        (EndorsementStatus.REVOKED, 30, "This endorsement was revoked"),
    ],
)
def test_a_renewal_cannot_be_started_outside_its_window(app, status, ends_in_days, message):
    make_endorsement(app, status=status, ends_in_days=ends_in_days)
    me = Endorsee(app)
    assert "/renewal" not in me.browser.get("/dashboard").get_data(as_text=True)
    page = text_of(me.page())
    assert message in page and "Start my renewal" not in page
    if status is EndorsementStatus.LAPSED:
        assert '/reinstate"' in me.page().get_data(as_text=True)  # the way back is its reinstatement
    assert me.start().status_code == 302
    assert message in flashed(me)
    assert me.post("membership", {"membership-association": "waimh"}, version="1").status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Renewal.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(Portfolio.id))) == 0


def test_an_active_endorsement_whose_window_has_opened_by_date_may_be_renewed(app):
    """The annual job moves it to "renewal due" on its next run; the endorsee need not wait for it."""
    make_endorsement(app, status=EndorsementStatus.ACTIVE, ends_in_days=10)
    assert Endorsee(app).start().status_code == 302
    assert the_renewal(app) is not None


def test_a_draft_whose_endorsement_lapsed_cannot_be_changed_or_submitted(app):
    make_endorsement(app)
    complete_renewal(app)
    with app.app_context():
        db.session.scalars(sa.select(Endorsement)).one().status = EndorsementStatus.LAPSED
        db.session.commit()
    me = Endorsee(app)
    assert "has lapsed" in text_of(me.page())
    state = renewal_state(app)
    assert me.submit(version=str(state[1])).status_code == 302
    assert "has lapsed" in flashed(me)
    assert renewal_state(app) == state


def test_starting_twice_keeps_one_renewal(app):
    make_endorsement(app)
    me = Endorsee(app)
    assert me.start().status_code == 302
    first = the_renewal(app)
    assert me.start().status_code == 302
    assert the_renewal(app).id == first.id
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Renewal.id))) == 1
        assert db.session.scalar(sa.select(sa.func.count(Portfolio.id))) == 1
    assert audit_actions(app).count(AuditAction.RENEWAL_STARTED) == 1


# ------------------------------------------------------------------------------------------------
# Who may see it


def test_another_users_renewal_and_unknown_numbers_are_404(app):
    make_endorsement(app)
    make_endorsement(app, number="IMH-0THER2K7", email="other@example.org")
    complete_renewal(app)
    other = logged_in(app, "other@example.org")
    token = csrf_token_from(other.get(page_of("IMH-0THER2K7")).get_data(as_text=True))
    state = renewal_state(app)
    for action in ("", "/start", "/membership", "/training", "/rsc", "/remove", "/declarations", "/submit"):
        assert other.get(page_of() + action).status_code in (404, 405)
        response = other.client.post(page_of() + action, data={"csrf_token": token, "version": str(state[1])})
        assert response.status_code in (404, 405) if action == "" else response.status_code == 404, action
    assert renewal_state(app) == state
    me = Endorsee(app)
    for number in ("IMH-ZZZZZZZZ", "nope", "IMH-RNW2K7QX0", "<script>"):
        assert me.browser.get(page_of(number)).status_code == 404
    assert me.browser.get(page_of(NUMBER.lower())).status_code == 200  # the number as typed


# ------------------------------------------------------------------------------------------------
# Bad input: a clear message, nothing changed


@pytest.fixture
def started(app):
    make_endorsement(app)
    me = Endorsee(app)
    assert me.start().status_code == 302
    return me


def refused_with(app, me: Endorsee, response, message: str) -> None:
    body = text_of(response) if response.status_code == 200 else flashed(me)
    assert message in body, body[:3000]


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ("0", "Enter hours between 0.25 and 500."),
        ("0.24", "Enter hours between 0.25 and 500."),
        ("500.25", "Enter hours between 0.25 and 500."),
        ("0.3", "Enter hours in quarters of an hour"),
        ("-1", "Enter hours between 0.25 and 500."),
        ("NaN", "Enter the hours as a number."),
        ("Infinity", "Enter the hours as a number."),
        ("1e309", "Enter hours between 0.25 and 500."),
        ("", "Enter the hours."),
        ("three", "Not a valid decimal value"),
    ],
)
def test_training_hours_out_of_range_are_refused(app, started, hours, message):
    state = renewal_state(app)
    response = started.training(hours, utc_today() - DAY)
    assert response.status_code == 200
    refused_with(app, started, response, message)
    assert renewal_state(app) == state


def test_entries_dated_outside_the_period_or_in_the_future_are_refused(app, started):
    today = utc_today()
    starts = today + 30 * DAY - 365 * DAY
    state = renewal_state(app)
    for taken_on in (starts - DAY, today + DAY):
        response = started.training("2", taken_on)
        refused_with(app, started, response, "Only training and supervision dated between")
    for first, last in ((starts - DAY, today), (starts, today + DAY)):
        refused_with(app, started, started.rsc("2", first, last), "Only training and supervision dated between")
    refused_with(app, started, started.rsc("2", today - DAY, today - 2 * DAY), "The end date is before the start date.")
    assert renewal_state(app) == state
    # The window's own edges are kept: the period's first day, and today.
    assert started.training("2", starts).status_code == 302
    assert started.rsc("2", starts, today).status_code == 302
    assert len(the_renewal(app).portfolio.training) == 1


def test_hostile_text_is_refused_or_kept_as_text(app, started):
    state = renewal_state(app)
    for title, message in (
        ("a\x00b", "Use a single line of text"),
        ("line\nbreak", "Use a single line of text"),
        ("\x1b[2J", "Use a single line of text"),
        ("x" * 201, "Field cannot be longer than 200 characters."),
        ("   ", "Enter the title."),
    ):
        response = started.training("1", utc_today() - DAY, title=title)
        assert response.status_code == 200, title
        refused_with(app, started, response, message)
    assert renewal_state(app) == state
    markup = "<script>alert(1)</script>"
    assert started.training("1", utc_today() - DAY, title=markup).status_code == 302
    html = started.page().get_data(as_text=True)
    assert markup not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_membership_must_be_complete_current_and_plausible(app, started):
    today = utc_today()
    state = renewal_state(app)
    for extra, expires_on, message in (
        ({}, today - DAY, f"This membership expired on {(today - DAY):%d %B %Y}"),
        ({}, today + 366 * 10 * DAY + DAY, "a membership running more than 10 years is not expected"),
        ({"association": "other"}, today + 400 * DAY, "Enter the name of the association."),
        ({"association": "nonsense"}, today + 400 * DAY, "Not a valid choice"),
        ({"member_number": ""}, today + 400 * DAY, "Enter your member number."),
        ({"member_number": "x" * 41}, today + 400 * DAY, "Field cannot be longer than 40 characters."),
        ({"association_name": "a\x00b"}, today + 400 * DAY, "Use a single line of text"),
        ({"expires_on": "9999-12-31"}, today, "Enter a date between 1900 and 2199."),
    ):
        response = started.membership(expires_on, extra)
        assert response.status_code == 200, extra
        refused_with(app, started, response, message)
    assert renewal_state(app) == state
    assert started.membership(today).status_code == 302  # expiring today is not in the past
    rows = checklist_rows(started.page())
    [membership] = [state for label, state in rows.items() if label.startswith("Association membership")]
    assert membership == "Not yet"  # but it is not current on the next period's first day


def test_the_membership_must_run_into_the_next_period(app, started):
    period_ends = utc_today() + 30 * DAY
    started.membership(period_ends)
    assert checklist_rows(started.page())[f"Association membership: current on {period_ends + DAY:%d %B %Y}"] == (
        "Not yet"
    )
    started.membership(period_ends + DAY)
    assert checklist_rows(started.page())[f"Association membership: current on {period_ends + DAY:%d %B %Y}"] == "Met"


def test_only_configured_attestations_can_be_signed(app, started):
    state = renewal_state(app)
    response = started.declarations("code_of_ethics", "made_up")
    assert response.status_code == 200
    refused_with(app, started, response, "not a valid choice")
    assert renewal_state(app) == state


def test_removing_an_unknown_or_another_renewals_entry_is_refused(app, started):
    make_endorsement(app, number="IMH-0THER2K7", email="other@example.org")
    complete_renewal(app, number="IMH-0THER2K7")
    with app.app_context():
        others = db.session.scalar(sa.select(TrainingEntry.id))
    assert started.training("2", utc_today() - DAY).status_code == 302
    with app.app_context():
        mine = db.session.scalar(sa.select(TrainingEntry.id).where(TrainingEntry.id != others))
    state = renewal_state(app)
    for kind, entry_id in (("training", others), ("training", 999_999), ("rsc", mine), ("nope", mine)):
        assert started.remove(kind, entry_id).status_code == 302
        assert "Your renewal has no such entry" in flashed(started)
    for kind, entry_id in (("training", "x"), ("training", "9" * 20), ("training", "")):
        assert started.remove(kind, entry_id).status_code == 302
    assert renewal_state(app) == state
    with app.app_context():
        assert db.session.get(TrainingEntry, others) is not None
    assert started.remove("training", mine).status_code == 302
    assert "The entry is removed." in flashed(started)
    assert the_renewal(app).portfolio.training == []


def test_a_change_from_a_stale_page_is_refused(app, started):
    """Two tabs: the second's page still carries the version the first tab's change raised."""
    stale = started.version()
    assert started.training("2", utc_today() - DAY).status_code == 302
    state = renewal_state(app)
    response = started.post(
        "training",
        {
            "training-title": "From the old tab",
            "training-provider": "P",
            "training-taken_on": (utc_today() - DAY).isoformat(),
            "training-hours": "1",
        },
        version=stale,
        prefix="training-",
    )
    assert response.status_code == 200
    html = text_of(response)
    assert "changed in another tab or window" in html
    assert 'value="From the old tab"' in html  # what was typed is kept, to send again
    assert renewal_state(app) == state
    assert started.submit(version=stale).status_code == 302
    assert "changed in another tab or window" in flashed(started)
    assert renewal_state(app) == state


# ------------------------------------------------------------------------------------------------
# Two sessions at once (PostgreSQL)


def test_two_sessions_starting_at_once_start_one_renewal(make_app, postgres_schema):
    if postgres_schema is None:
        require("PostgreSQL", "two sessions starting one renewal need a database that several connections share")
    app = make_app()
    make_endorsement(app)

    def start_in_own_session():
        with app.app_context(), app.test_request_context():
            try:
                endorsement = db.session.scalars(sa.select(Endorsement).where(Endorsement.number == NUMBER)).one()
                renewal = renewals.start_renewal(endorsement, endorsement.holder)
                renewal_id = renewal.id
                db.session.commit()
                return renewal_id
            finally:
                db.session.remove()

    for _ in range(3):
        ids = run_together(*[start_in_own_session for _ in range(4)])
        assert all(isinstance(found, int) for found in ids), ids
        assert len(set(ids)) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Renewal.id))) == 1
        assert db.session.scalar(sa.select(sa.func.count(Portfolio.id))) == 1
        started = db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == AuditAction.RENEWAL_STARTED)
        )
        assert started == 1
        assert db.session.scalar(sa.select(sa.func.count(OutboxEmail.id))) == 0


HOSTILE = [
    "-1",
    "0",
    "9" * 20,
    "1e309",
    "NaN",
    "Infinity",
    "9999-12-31",
    "0001-01-01",
    "\x00",
    "a\x00b",
    "\x07\x1b\x7f",
    "\r\nX-Injected: 1",
    "x" * 10_000,
    "<a href='https://evil.example'>x</a>\"><script>alert(1)</script>",
    "[" * 500,
    "",
]
FORM_FIELDS = {
    "membership": [
        "membership-version",
        "membership-association",
        "membership-association_name",
        "membership-member_number",
        "membership-expires_on",
    ],
    "training": [
        "training-version",
        "training-title",
        "training-provider",
        "training-taken_on",
        "training-hours",
        "training-about_rsc",
        "training-about_dei",
    ],
    "rsc": [
        "rsc-version",
        "rsc-provider",
        "rsc-provider_credential",
        "rsc-starts_on",
        "rsc-ends_on",
        "rsc-hours",
        "rsc-format",
    ],
    "declarations": ["declarations-version", "declarations-provides_rsc", "declarations-attestations"],
    "remove": ["version", "kind", "entry_id"],
    "submit": ["version"],
    "start": [],
}


def test_hostile_values_in_every_field_never_cause_an_error_or_a_change(app, started):
    assert started.training("1", utc_today() - DAY).status_code == 302
    token = csrf_token_from(started.page().get_data(as_text=True))
    for action, fields in FORM_FIELDS.items():
        for value in HOSTILE:
            state = renewal_state(app)
            response = started.browser.client.post(
                f"{page_of()}/{action}", data={"csrf_token": token, **dict.fromkeys(fields, value)}
            )
            assert response.status_code in (200, 302), (action, value[:20], response.status_code)
            if action != "start":  # starting again finds the renewal started: nothing to change either
                assert renewal_state(app) == state, (action, value[:20])
            assert started.page().status_code == 200


def test_in_grace_entries_may_be_dated_up_to_the_periods_last_day_not_today(app):
    make_endorsement(app, status=EndorsementStatus.GRACE, ends_in_days=-5)
    me = Endorsee(app)
    assert me.start().status_code == 302
    today = utc_today()
    period_ends = today - 5 * DAY
    with app.app_context():
        endorsement = db.session.scalars(sa.select(Endorsement)).one()
        window = renewals.renewal_window(endorsement)
        assert (window.first, window.last) == (endorsement.period_starts_on, period_ends)
    state = renewal_state(app)
    refused_with(app, me, me.training("1", period_ends + DAY), "Only training and supervision dated between")
    refused_with(app, me, me.training("1", today), "Only training and supervision dated between")
    assert renewal_state(app) == state
    assert me.training("1", period_ends).status_code == 302
