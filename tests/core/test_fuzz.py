"""Fuzzing that reaches the code: every form starts from a valid submission and Hypothesis changes one
or two of its fields (the nasty corpus, any Unicode, long text, control characters, wrong types).
Each example must end one of two ways:
- refused: the page names the problem (a field error or the form's message) and the affected rows
  are exactly as before;
- accepted: what was sent is stored as sent (after the form's documented normalisation: surrounding
  white space removed, e-mail addresses lower-cased) and shown escaped where it is read back.
Never a 500. Every e-mail a form queues is parsed from its stored `wire_message` with the e-mail
package: one To, one Subject, no header a value could have injected.

FUZZ_EXAMPLES sets the examples per form (default 200). The accepted and refused counts per form
are written to test-artifacts/fuzz-counts.txt and printed at the end of the run."""

from __future__ import annotations

import email
import email.policy
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from refportal.accounts.models import Role, User
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application
from refportal.db import utc_today
from refportal.extensions import db
from refportal.i18n import LANGUAGES
from refportal.mail.addresses import normalize_email
from refportal.mail.models import OutboxEmail
from refportal.membership.models import MembershipDeclaration
from refportal.references.models import Reference, ReferenceStatus
from refportal.reviews.models import Review
from refportal.reviews.progress import change_files
from tests.factories import declare_current_membership, make_application, make_user, record_eligibility
from tests.references.helpers import full_answers, nominate, nomination, send_requests
from tests.web import Browser, csrf_token_from

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "fuzz-counts.txt"
COUNTS: dict[str, Counter] = {}

# Any Unicode except lone surrogates (a browser cannot send them), control characters included.
CHARACTERS = st.characters(blacklist_categories=("Cs",))
NASTY = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\r\nBcc: victim@example.org",
        "a\r\nX-Injected: 1",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "%s%s%n",
        "../../etc/passwd",
        "\u202e\u200b\ufeff",
        "9" * 400,
        "-1",
        "1e309",
        "NaN",
        "2026-02-30",
        "é" * 2000,
        "Zoë O'Brien <b>bold</b>",
        "ok@example.org\nBcc: x@example.org",
        "a@b",
        "3.5",
        "0",
    ]
)
WRONG_TYPES = st.sampled_from(["abc", "1.5.2", "[]", "{}", "None", "true", "-0", "0x10", "1,5", "１２"])
LONG = st.builds(
    lambda piece, times: (piece or "x") * times, st.text(CHARACTERS, min_size=1, max_size=6), st.integers(100, 3000)
)
# Plausible values too, so that fields are also accepted: printable text, numbers, dates.
PRINTABLE = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)
# Valid choices of the portal's select and radio fields, so a changed choice field is often a real choice.
CHOICES = st.sampled_from(
    [
        "imh-e",
        "ecmh-e",
        "1",
        "2",
        "3",
        "4",
        "clinical",
        "policy",
        "research",
        "high_school",
        "cda",
        "bachelor",
        "master",
        "current_member",
        "will_join",
        "infancy_onward",
        "waimh",
        "other",
        "supervisor",
        "teacher_trainer",
        "colleague",
        "rsc_provider",
        "rsc_recipient",
        "supervisee",
        "yes",
        "no",
        "en",
        "es",
        "endorse",
        "defer",
        "deny",
        "more_information",
        "verify",
        "reject",
        "reviewer",
        "admin",
        "applicant",
        "recommend",
        "recommend_with_reservations",
        "do_not_recommend",
        "none",
        "na",
        "submitted",
        "oldest",
        "name",
        "verified",
        "complete",
        "incomplete",
    ]
)
PLAUSIBLE = st.one_of(
    PRINTABLE,
    CHOICES,
    st.emails(),
    st.integers(-5, 10**6).map(str),
    st.dates().map(lambda d: d.isoformat()),
    st.decimals(0, 80, places=1, allow_nan=False).map(str),
)
VALUE = st.one_of(PLAUSIBLE, st.text(CHARACTERS, max_size=60), NASTY, LONG, WRONG_TYPES)


def changes(fields: list[str], choices: dict[str, list[str]] | None = None):
    """One or two of `fields`, each with a generated value (for a choice field, often one of its choices)."""
    choices = choices or {}

    def value_for(name: str):
        return st.one_of(st.sampled_from(choices[name]), VALUE) if name in choices else VALUE

    return st.lists(st.sampled_from(fields), min_size=1, max_size=2, unique=True).flatmap(
        lambda chosen: st.fixed_dictionaries({name: value_for(name) for name in chosen})
    )


def shows_a_problem(body: str) -> bool:
    return 'class="error"' in body or 'class="error-summary"' in body or "flash-error" in body


def check_wire_messages(app, since_id: int) -> None:
    """Every message queued since `since_id`, as it would go on the wire: no injected header."""
    with app.app_context():
        queued = db.session.execute(
            sa.select(OutboxEmail.id, OutboxEmail.to_address, OutboxEmail.wire_message).where(OutboxEmail.id > since_id)
        ).all()
    for _, to, wire in queued:
        message = email.message_from_bytes(wire, policy=email.policy.default)
        assert [ascii_form(str(a)) for a in message.get_all("To")] == [ascii_form(to)]
        assert len(message.get_all("Subject")) == 1
        assert not message.get_all("Bcc") and not message.get_all("X-Injected")
        assert "\n" not in str(message["Subject"]) and "\r" not in to and "\n" not in to
        raw_headers = wire.split(b"\r\n\r\n", 1)[0]
        assert b"X-Injected" not in raw_headers and b"\nBcc:" not in raw_headers


def ascii_form(address: str) -> str:
    """An address with its domain in ASCII (IDNA): how an internationalised domain goes in a header."""
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.encode('idna').decode('ascii')}".lower()


def last_outbox_id(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.max(OutboxEmail.id))) or 0


def clean(value: str) -> str:
    return value.strip()


@dataclass
class FormCase:
    """One form under fuzz: how to send it, what it may change, how to check an accepted example."""

    name: str
    url: str
    valid: dict[str, str]
    fields: list[str]
    browser: Browser
    snapshot: Callable[[], object]
    accepted: Callable[[object], bool]
    verify: Callable[[dict], None] = lambda data: None
    reset: Callable[[], None] = lambda: None
    method: str = "POST"
    fresh: Callable[[], dict] = field(default=lambda: {})  # per-example values (e.g. a new address)
    choices: dict[str, list[str]] = field(default_factory=dict)  # the valid values of its choice fields
    form_page: str | None = None  # where the form is shown, when not at `url`


def run_case(app, case: FormCase) -> None:
    counts = COUNTS.setdefault(case.name, Counter())
    page = case.form_page or case.url
    token = csrf_token_from(case.browser.get(page).get_data(as_text=True)) if case.method == "POST" else None

    @FUZZ
    @given(change=changes(case.fields, case.choices))
    def example(change):
        data = {**case.valid, **case.fresh(), **change}
        before, outbox_before = case.snapshot(), last_outbox_id(app)
        if case.method == "POST":
            response = case.browser.client.post(case.url, data={"csrf_token": token, **data})
        else:
            response = case.browser.client.get(case.url, query_string=data)
        assert response.status_code < 500, (case.name, data, response.status_code)
        for name, value in response.headers.items():
            assert "\n" not in value and "\r" not in value and "X-Injected" not in name
        check_wire_messages(app, outbox_before)
        if case.accepted(response):
            counts["accepted"] += 1
            case.verify(data)
            case.reset()
        else:
            counts["refused"] += 1
            assert shows_a_problem(response.get_data(as_text=True)), (case.name, data, response.status_code)
            assert case.snapshot() == before, (case.name, data)

    example()
    assert sum(counts.values()) >= EXAMPLES


def rows(app, query) -> list[tuple]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(query).all()]


def redirected(response) -> bool:
    return response.status_code == 302


# ------------------------------------------------------------------------------------------------
# The people and objects the forms work on


@pytest.fixture
def world(app):
    with app.app_context():
        applicant = make_user(email="fuzz@example.org", name="Fuzz Applicant")
        application = make_application(applicant)
        record_eligibility(application)
        declare_current_membership(application)
        make_user(email="rev@example.org", role=Role.REVIEWER)
        make_user(email="admin@example.org", role=Role.ADMIN)
    browser = Browser(app.test_client())
    browser.login("fuzz@example.org")
    return {"application_id": application.id, "applicant": browser}


def staff(app, address: str) -> Browser:
    browser = Browser(app.test_client())
    browser.login(address)
    return browser


# ------------------------------------------------------------------------------------------------
# Account forms (public)


def test_register(app):
    numbers = iter(range(10**9))
    registered: dict[str, str] = {}  # address -> the name its account was opened with

    def verify(data):
        email_address = normalize_email(data["email"])  # as the portal stores it
        [(name,)] = rows(app, sa.select(User.name).where(User.email == email_address))
        messages = rows(
            app,
            sa.select(OutboxEmail.template, OutboxEmail.body_html)
            .where(OutboxEmail.to_address == email_address)
            .order_by(OutboxEmail.id),
        )
        if email_address in registered:  # the same answer, but the owner is told instead (no enumeration)
            assert name == registered[email_address] and messages[-1][0] in ("account_exists", "verify_email")
            return
        registered[email_address] = name
        assert name == clean(data["name"])
        assert rows(app, sa.select(User.language).where(User.email == email_address)) == [(data.get("language", "en"),)]
        if "<" in name:
            assert str(escape(name)) in messages[-1][1] and name not in messages[-1][1]

    run_case(
        app,
        FormCase(
            "register",
            "/register",
            {"name": "Pat Doe", "password": "velvet tundra lantern 2026", "confirm": "velvet tundra lantern 2026"},
            ["name", "email", "password", "confirm", "language"],
            Browser(app.test_client()),
            snapshot=lambda: rows(app, sa.select(User.id, User.email, User.name).order_by(User.id)),
            accepted=lambda r: r.status_code == 200 and "Check your e-mail" in r.get_data(as_text=True),
            verify=verify,
            fresh=lambda: {"email": f"new{next(numbers)}@example.org"},
            choices={"language": list(LANGUAGES)},
        ),
    )


def test_login(app):
    with app.app_context():
        make_user(email="member@example.org")
    run_case(
        app,
        FormCase(
            "login",
            "/login",
            {"email": "member@example.org", "password": "wrong but plausible"},
            ["email", "password"],
            Browser(app.test_client()),
            snapshot=lambda: rows(app, sa.select(User.id, User.session_version, User.password_hash)),
            accepted=redirected,
        ),
    )


def test_password_reset_request(app):
    with app.app_context():
        make_user(email="member@example.org")
    run_case(
        app,
        FormCase(
            "password reset",
            "/password/forgot",
            {"email": "member@example.org"},
            ["email"],
            Browser(app.test_client()),
            snapshot=lambda: rows(app, sa.select(OutboxEmail.id)),
            accepted=lambda r: r.status_code == 200 and "Check your e-mail" in r.get_data(as_text=True),
        ),
    )


# ------------------------------------------------------------------------------------------------
# The applicant's forms


def test_new_application(app, world):
    applicant, user_id = world["applicant"], None
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.email == "fuzz@example.org"))
        change_files(sa.delete(Application).where(Application.applicant_id == user_id))
        db.session.commit()

    def snapshot():
        return rows(
            app,
            sa.select(Application.id, Application.credential, Application.category, Application.mentor_track).where(
                Application.applicant_id == user_id
            ),
        )

    def verify(data):
        [(_, credential, category, track)] = snapshot()
        assert credential.value == data["credential"] and str(category) == data["category"]
        assert (track.value if track else "") == (data.get("mentor_track", "") if category == 4 else "")

    def reset():
        with app.app_context():
            change_files(sa.delete(Application).where(Application.applicant_id == user_id))
            db.session.commit()

    run_case(
        app,
        FormCase(
            "new application",
            "/applications/new",
            {"credential": "imh-e", "category": "2", "mentor_track": ""},
            ["credential", "category", "mentor_track"],
            applicant,
            snapshot=snapshot,
            accepted=redirected,
            verify=verify,
            reset=reset,
            choices={
                "credential": ["imh-e", "ecmh-e"],
                "category": ["1", "2", "3", "4"],
                "mentor_track": ["", "clinical", "policy", "research"],
            },
        ),
    )


def test_eligibility(app, world):
    application_id = world["application_id"]

    def snapshot():
        return rows(
            app,
            sa.select(
                Application.education_level,
                Application.work_years,
                Application.training_hours,
                Application.rsc_hours,
                Application.employer,
            ).where(Application.id == application_id),
        )

    def verify(data):
        [(level, years, training, rsc, employer)] = snapshot()
        assert employer == (" ".join(data.get("employer", "").split()) or None)
        assert level.value == data["education_level"] and str(training) == data["training_hours"].strip().lstrip("+")
        assert str(rsc) == data["rsc_hours"].strip().lstrip("+") or int(rsc) == int(data["rsc_hours"])
        assert float(years) == round(float(data["work_years"]), 1)

    run_case(
        app,
        FormCase(
            "eligibility",
            f"/applications/{application_id}/eligibility",
            {
                "education_level": "bachelor",
                "work_years": "3",
                "training_hours": "40",
                "rsc_hours": "30",
                "employer": "",
            },
            ["education_level", "work_years", "training_hours", "rsc_hours", "employer"],
            world["applicant"],
            snapshot=snapshot,
            accepted=redirected,
            verify=verify,
            choices={
                "education_level": ["high_school", "cda", "associate", "bachelor", "master", "doctorate"],
                "work_years": ["0", "2.5", "60"],
                "training_hours": ["0", "30", "5000"],
                "rsc_hours": ["0", "24"],
            },
        ),
    )


def test_membership(app, world):
    application_id = world["application_id"]

    def snapshot():
        return rows(
            app,
            sa.select(
                MembershipDeclaration.kind,
                MembershipDeclaration.association,
                MembershipDeclaration.association_name,
                MembershipDeclaration.member_number,
                MembershipDeclaration.expires_on,
            ).where(MembershipDeclaration.application_id == application_id),
        )

    def verify(data):
        [(kind, _, name, number, _)] = snapshot()
        assert kind.value == data["kind"]
        if data["kind"] == "current_member":
            assert number == clean(data["member_number"])
            if data["association"] == "other":
                assert name == clean(data["association_name"])
        page = world["applicant"].get(f"/applications/{application_id}").get_data(as_text=True)
        if name and "<" in name:
            assert str(escape(name)) in page and name not in page

    run_case(
        app,
        FormCase(
            "membership",
            f"/applications/{application_id}/membership",
            {
                "kind": "current_member",
                "association": "infancy_onward",
                "association_name": "",
                "member_number": "IO-7",
                "expires_on": "2031-01-31",
            },
            ["kind", "association", "association_name", "member_number", "expires_on"],
            world["applicant"],
            snapshot=snapshot,
            accepted=redirected,
            verify=verify,
            choices={"kind": ["current_member", "will_join"], "association": ["infancy_onward", "waimh", "other"]},
        ),
    )


def test_nomination(app, world):
    """A fuzzed referee is nominated beside two fixed ones and the requests are sent: the three
    request e-mails are checked on the wire."""
    application_id, applicant = world["application_id"], world["applicant"]
    url = f"/applications/{application_id}/references/"

    def snapshot():
        return rows(
            app,
            sa.select(Reference.id, Reference.name, Reference.email, Reference.status).where(
                Reference.application_id == application_id
            ),
        )

    def verify(data):
        [(_, name, email_address, _)] = snapshot()
        assert name == clean(data["name"]) and email_address == normalize_email(data["email"])
        page = applicant.get(url).get_data(as_text=True)
        if "<" in name:
            assert str(escape(name)) in page and name not in page
        # Two more, then the requests: every message checked on the wire.
        before = last_outbox_id(app)
        for other, role in (
            ("sam.other@example.net", "supervisor"),
            ("rae.other@example.net", "rsc_provider"),
            ("cole.other@example.net", "colleague"),
        ):
            if len(snapshot()) < 3 and other != email_address:
                nominate(applicant, application_id, name="Other", email=other, role=role)
        applicant.submit(f"{url}send", {}, form_url=url)
        check_wire_messages(app, before)

    def reset():
        with app.app_context():
            db.session.execute(sa.delete(Reference).where(Reference.application_id == application_id))
            db.session.commit()

    base = nomination(role="colleague")
    base.pop("language")
    run_case(
        app,
        FormCase(
            "nomination",
            url,
            {**base, "language": "en"},
            [
                "name",
                "email",
                "organisation",
                "role",
                "setting",
                "known_years",
                "endorsed_credential",
                "endorsed_category",
                "waived",
                "language",
            ],
            applicant,
            snapshot=snapshot,
            accepted=redirected,
            verify=verify,
            reset=reset,
            choices={
                "role": ["supervisor", "colleague", "rsc_provider"],
                "endorsed_credential": ["", "imh-e", "ecmh-e"],
                "endorsed_category": ["", "1", "4"],
                "waived": ["yes", "no"],
                "language": ["en", "es"],
            },
        ),
    )


def test_correct_email(app, world, outbox):
    """On an asked referee: the old request is withdrawn (its referee told), a new one goes out."""
    application_id, applicant = world["application_id"], world["applicant"]
    url = f"/applications/{application_id}/references/"
    for referee, role in (
        ("sam@example.net", "supervisor"),
        ("rae@example.net", "rsc_provider"),
        ("cole@example.net", "colleague"),
    ):
        nominate(applicant, application_id, name=referee.split("@")[0].title(), email=referee, role=role)
    send_requests(applicant, application_id)

    def current() -> int:
        return rows(
            app,
            sa.select(Reference.id)
            .where(
                Reference.application_id == application_id, Reference.status == "invited", Reference.role == "colleague"
            )
            .order_by(Reference.id.desc())
            .limit(1),
        )[0][0]

    case = FormCase(
        "correct e-mail",
        "",
        {},
        ["email"],
        applicant,
        snapshot=lambda: rows(
            app,
            sa.select(Reference.id, Reference.email, Reference.status)
            .where(Reference.application_id == application_id)
            .order_by(Reference.id),
        ),
        accepted=redirected,
    )

    def verify(data):
        newest = rows(
            app,
            sa.select(Reference.email)
            .where(Reference.application_id == application_id)
            .order_by(Reference.id.desc())
            .limit(1),
        )[0][0]
        assert newest == normalize_email(data["email"])  # as the portal stores it (a domain in Unicode)

    case.verify = verify
    case.url = f"{url}{current()}/email"
    numbers = iter(range(10**9))
    case.fresh = lambda: {"email": f"corrected{next(numbers)}@example.net"}

    def reset():  # the next example corrects the newest request
        case.url = f"{url}{current()}/email"

    case.reset = reset
    run_case(app, case)


# ------------------------------------------------------------------------------------------------
# The referee's forms


def asked_reference(app, world) -> str:
    """A new invited reference on the fuzz application; returns its rating-form path."""
    from refportal.db import utcnow
    from refportal.references.links import issue_link, link_token
    from refportal.references.roles import RefereeRole

    with app.test_request_context():
        application = db.session.get(Application, world["application_id"])
        reference = Reference(
            application=application,
            name="Fresh Referee",
            email="fresh@example.net",
            organisation="Org",
            role=RefereeRole.COLLEAGUE,
            setting="S",
            known_years=2,
            waived=True,
            status=ReferenceStatus.NOMINATED,
            language="en",
        )
        db.session.add(reference)
        issue_link(reference, utcnow())
        db.session.commit()
        return f"/r/{link_token(reference)}"


def test_rating_draft_summary_and_submission(app, world):
    """Each example saves a fuzzed draft, asks for the summary and confirms it, on a fresh reference."""
    counts = COUNTS.setdefault("rating (draft, summary, submit)", Counter())
    fields = [
        "recommendation",
        "strengths",
        "growth",
        "for_reviewers",
        "relationship_role",
        "relationship_setting",
        "relationship_years",
        "referee_role",
        "endorsement",
        "endorsed_category",
        "endorsement_number",
        "attestation_name",
        "attest",
        "item_theory_development",
    ]

    @FUZZ
    @given(change=changes(fields))
    def example(change):
        path = asked_reference(app, world)
        referee = app.test_client()
        token = csrf_token_from(referee.get(path).get_data(as_text=True))
        data = {**full_answers(), **change}
        saved = referee.post(path, data={"csrf_token": token, "action": "save", **data})
        assert saved.status_code < 500
        summary = referee.post(path, data={"csrf_token": token, "action": "review", **data})
        assert summary.status_code < 500
        body = summary.get_data(as_text=True)
        rid = int(re.search(r"(\d+)$", str(rows(app, sa.select(sa.func.max(Reference.id)))[0][0])).group(1))
        if "Check your rating" not in body:
            counts["refused"] += 1
            assert shows_a_problem(body)
            assert rows(app, sa.select(Reference.status).where(Reference.id == rid))[0][0].value != "submitted"
            return
        digest = re.search(r'name="digest" type="hidden" value="([^"]+)"', body).group(1)
        before = last_outbox_id(app)
        done = referee.post(f"{path}/submit", data={"csrf_token": csrf_token_from(body), "digest": digest})
        assert done.status_code == 200 and "Your rating is submitted" in done.get_data(as_text=True)
        counts["accepted"] += 1
        check_wire_messages(app, before)
        from refportal.references.models import Rating

        [(strengths, growth, attestation)] = rows(
            app, sa.select(Rating.strengths, Rating.growth, Rating.attestation_name).where(Rating.reference_id == rid)
        )
        assert (strengths, growth, attestation) == (
            clean(data["strengths"]),
            clean(data["growth"]),
            clean(data["attestation_name"]),
        )
        for text in (strengths, growth):
            if "<" in text:
                assert str(escape(text)) in body and text not in body

    example()


def test_decline(app, world):
    counts = COUNTS.setdefault("decline", Counter())

    @FUZZ
    @given(change=changes(["reason"]))
    def example(change):
        path = asked_reference(app, world)
        referee = app.test_client()
        token = csrf_token_from(referee.get(f"{path}/decline").get_data(as_text=True))
        response = referee.post(f"{path}/decline", data={"csrf_token": token, **change})
        assert response.status_code < 500
        rid = rows(app, sa.select(sa.func.max(Reference.id)))[0][0]
        [(status, reason)] = rows(app, sa.select(Reference.status, Reference.decline_reason).where(Reference.id == rid))
        if "You have declined this request" in response.get_data(as_text=True):
            counts["accepted"] += 1
            assert status.value == "declined" and (reason or "") == clean(change["reason"])
        else:
            counts["refused"] += 1
            assert shows_a_problem(response.get_data(as_text=True)) and status.value != "declined"

    example()


# ------------------------------------------------------------------------------------------------
# Staff forms


def test_staff_invitation(app, world):
    admin = staff(app, "admin@example.org")
    numbers = iter(range(10**9))

    def verify(data):
        email_address = normalize_email(data["email"])  # as the portal stores it
        [(name, role)] = rows(app, sa.select(User.name, User.role).where(User.email == email_address))
        assert name == clean(data["name"]) and role.value == data["role"]
        page = admin.get("/admin/users").get_data(as_text=True)
        if "<" in name:
            assert str(escape(name)) in page and name not in page

    run_case(
        app,
        FormCase(
            "staff invitation",
            "/admin/users/invite",
            {"name": "New Reviewer", "role": "reviewer"},
            ["name", "email", "role"],
            admin,
            snapshot=lambda: rows(app, sa.select(User.id, User.email, User.role)),
            accepted=redirected,
            verify=verify,
            fresh=lambda: {"email": f"staff{next(numbers)}@example.org"},
            choices={"role": ["reviewer", "admin"]},
        ),
    )


def test_review_round(app, world):
    from refportal.reviews.models import ReviewRound

    admin = staff(app, "admin@example.org")
    years = iter(range(2100, 10**6))

    def fresh():
        year = next(years)  # a period of its own, so a valid example never overlaps the last one
        return {
            "name": f"Round {year}",
            "opens_on": f"{year}-01-01",
            "submission_deadline": f"{year}-03-31",
            "review_due": f"{year}-05-15",
        }

    def verify(data):
        name = " ".join(clean(data["name"]).split())
        [(opens_on, deadline, due)] = rows(
            app,
            sa.select(ReviewRound.opens_on, ReviewRound.submission_deadline, ReviewRound.review_due).where(
                ReviewRound.name == name
            ),
        )
        assert opens_on <= deadline <= due

    run_case(
        app,
        FormCase(
            "review round",
            "/review/rounds",
            {},
            ["name", "opens_on", "submission_deadline", "review_due"],
            admin,
            snapshot=lambda: rows(app, sa.select(ReviewRound.id, ReviewRound.name).order_by(ReviewRound.id)),
            accepted=redirected,
            verify=verify,
            fresh=fresh,
        ),
    )


def test_recusal(app, world):
    from refportal.reviews.models import Recusal

    reviewer = staff(app, "rev@example.org")
    url = f"/review/applications/{world['application_id']}"

    def verify(data):
        [(reason,)] = rows(app, sa.select(Recusal.reason))
        assert reason == " ".join(clean(data["reason"]).split())[:500]

    def reset():
        with app.app_context():
            db.session.execute(sa.delete(Recusal))
            db.session.commit()

    def accepted(response) -> bool:
        return response.status_code == 302 and rows(app, sa.select(Recusal.id)) != []

    run_case(
        app,
        FormCase(
            "recusal",
            f"{url}/recuse",
            {"reason": "I supervised the applicant"},
            ["reason"],
            reviewer,
            snapshot=lambda: rows(app, sa.select(Recusal.id, Recusal.reason)),
            accepted=accepted,
            verify=verify,
            reset=reset,
            form_page=url,
        ),
    )


def submitted(app, world) -> int:

    with app.app_context():
        from refportal.reviews.models import ReviewAssignment

        application = db.session.get(Application, world["application_id"])
        application.status = ApplicationStatus.SUBMITTED
        reviewer = db.session.scalars(sa.select(User).where(User.email == "rev@example.org")).one()
        db.session.add(ReviewAssignment(application_id=application.id, reviewer_id=reviewer.id))  # its reviewer
        db.session.commit()
    return world["application_id"]


def test_review(app, world):
    application_id = submitted(app, world)
    reviewer = staff(app, "rev@example.org")
    url = f"/review/applications/{application_id}/review"

    def snapshot():
        return rows(
            app, sa.select(Review.outcome, Review.notes, Review.message).where(Review.application_id == application_id)
        )

    def verify(data):
        [(outcome, notes, message)] = snapshot()
        assert outcome.value == data["outcome"] and notes == clean(data["notes"]) and message == clean(data["message"])
        page = reviewer.get(f"/review/applications/{application_id}").get_data(as_text=True)
        for text in (notes, message):
            if "<" in text:
                assert str(escape(text)) in page and text not in page

    case = FormCase(
        "review",
        url,
        {"outcome": "endorse", "notes": "Solid file.", "message": ""},
        ["outcome", "notes", "message"],
        reviewer,
        snapshot=snapshot,
        accepted=redirected,
        verify=verify,
        choices={"outcome": ["endorse", "more_information", "defer", "deny"]},
        form_page=f"/review/applications/{application_id}",
    )  # the form lives on the file page
    run_case(app, case)


def test_membership_verification(app, world):
    application_id = submitted(app, world)
    reviewer = staff(app, "rev@example.org")
    url = f"/review/applications/{application_id}/membership"

    def snapshot():
        return rows(
            app,
            sa.select(MembershipDeclaration.status, MembershipDeclaration.verification_note).where(
                MembershipDeclaration.application_id == application_id
            ),
        )

    def verify(data):
        [(status, note)] = snapshot()
        assert status.value == ("verified" if data["verdict"] == "verify" else "rejected")
        assert (note or "") == clean(data["note"])

    run_case(
        app,
        FormCase(
            "membership verification",
            url,
            {"verdict": "verify", "note": "Roster checked."},
            ["verdict", "note"],
            reviewer,
            snapshot=snapshot,
            accepted=redirected,
            verify=verify,
            choices={"verdict": ["verify", "reject"]},
            form_page=f"/review/applications/{application_id}",
        ),
    )


def test_new_membership_confirmation(app, world):
    """The verification form of a "will join" declaration, with the new member number and expiry."""
    from refportal.membership.models import MembershipKind, MembershipStatus

    application_id = submitted(app, world)
    reviewer = staff(app, "rev@example.org")
    url = f"/review/applications/{application_id}/membership"
    next_year = (utc_today() + timedelta(days=365)).isoformat()

    def reset():
        with app.app_context():
            declaration = db.session.get(Application, application_id).membership
            declaration.kind, declaration.status = MembershipKind.WILL_JOIN, MembershipStatus.DECLARED
            declaration.member_number = declaration.expires_on = declaration.verification_note = None
            db.session.commit()

    def snapshot():
        return rows(
            app,
            sa.select(
                MembershipDeclaration.status,
                MembershipDeclaration.member_number,
                MembershipDeclaration.expires_on,
                MembershipDeclaration.verification_note,
            ).where(MembershipDeclaration.application_id == application_id),
        )

    def verify(data):
        [(status, number, expires_on, note)] = snapshot()
        assert (note or "") == clean(data["note"])
        if data["verdict"] == "verify":
            assert status.value == "verified" and number == clean(data["member_number"])
            assert expires_on == datetime.strptime(data["expires_on"], "%Y-%m-%d").date() >= utc_today()
        else:
            assert status.value == "rejected" and number is None and expires_on is None

    reset()
    run_case(
        app,
        FormCase(
            "new membership confirmation",
            url,
            {"verdict": "verify", "note": "", "member_number": "IO-900", "expires_on": next_year},
            ["verdict", "note", "member_number", "expires_on"],
            reviewer,
            snapshot=snapshot,
            accepted=redirected,
            verify=verify,
            reset=reset,
            choices={"verdict": ["verify", "reject"]},
            form_page=f"/review/applications/{application_id}",
        ),
    )


def test_queue_filters(app, world):
    reviewer = staff(app, "rev@example.org")
    counts = COUNTS.setdefault("queue filters (GET)", Counter())
    fields = [
        "q",
        "credential",
        "category",
        "status",
        "membership",
        "completeness",
        "submitted_from",
        "submitted_to",
        "sort",
        "page",
        "after",  # the links' cursors (keyset paging): anything else shows the first page
        "before",
    ]

    @FUZZ
    @given(change=changes(fields))
    def example(change):
        response = reviewer.client.get("/review/", query_string=change)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        counts["refused" if 'class="error"' in body else "accepted"] += 1
        for value in change.values():
            if "<" in value and value.strip():
                assert value not in body  # echoed back only escaped

    example()


def test_mail_console_filters(app, world):
    reviewer = staff(app, "rev@example.org")
    counts = COUNTS.setdefault("mail console filters (GET)", Counter())

    @FUZZ
    @given(change=changes(["address", "delivery", "queued_from", "queued_to", "page"]))
    def example(change):
        response = reviewer.client.get("/staff/mail/", query_string=change)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        counts["refused" if 'class="error"' in body else "accepted"] += 1
        for value in change.values():
            if "<" in value and value.strip():
                assert value not in body  # echoed back only escaped

    example()


def test_registry_search(app, world):
    counts = COUNTS.setdefault("registry search (GET)", Counter())
    anonymous = app.test_client()

    @FUZZ
    @given(change=changes(["name", "credential", "category", "place", "page"]))
    def example(change):
        response = anonymous.get("/registry/", query_string=change)
        assert response.status_code in (200, 400)
        assert "Set-Cookie" not in response.headers
        body = response.get_data(as_text=True)
        refused = 'class="error"' in body
        assert refused == (response.status_code == 400)
        counts["refused" if refused else "accepted"] += 1
        for value in change.values():
            if "<" in value and value.strip():
                assert value not in body  # echoed back only escaped

    example()


def test_registry_listing(app, world):
    from datetime import date

    from refportal.applications.categories import Credential
    from refportal.endorsements.models import Endorsement, RegistryListing

    with app.app_context():
        holder = db.session.scalars(sa.select(User).where(User.email == "fuzz@example.org")).one()
        db.session.add(
            Endorsement(
                number="IMH-FUZZ0000",
                holder_id=holder.id,
                credential=Credential.IMH_E,
                category=2,
                issued_on=date(2026, 1, 1),
                period_starts_on=date(2026, 1, 1),
                period_ends_on=date(2027, 1, 1),
            )
        )
        db.session.commit()
    listing = sa.select(RegistryListing.listed, RegistryListing.show_city, RegistryListing.city)

    def verify(data):
        [(listed, show_city, city)] = rows(app, listing)
        assert listed == (data.get("listed", "") not in ("", "false"))
        assert show_city == (data.get("show_city", "") not in ("", "false"))
        assert city == (clean(data.get("city", "")) or None)
        page = world["applicant"].get("/endorsements/registry-listing").get_data(as_text=True)
        if city and "<" in city:
            assert str(escape(city)) in page and city not in page

    def reset():
        with app.app_context():
            db.session.execute(sa.delete(RegistryListing))
            db.session.commit()

    run_case(
        app,
        FormCase(
            "registry listing",
            "/endorsements/registry-listing",
            {"listed": "y", "show_city": "y", "city": "Lansing, Michigan"},
            ["listed", "show_city", "city"],
            world["applicant"],
            snapshot=lambda: rows(app, listing),
            accepted=redirected,
            verify=verify,
            reset=reset,
        ),
    )


def test_account_language(app, world):
    language = sa.select(User.language).where(User.email == "fuzz@example.org")

    def verify(data):
        assert rows(app, language) == [(data["language"],)]
        assert data["language"] in LANGUAGES

    def reset():
        with app.app_context():
            db.session.execute(sa.update(User).where(User.email == "fuzz@example.org").values(language="en"))
            db.session.commit()

    run_case(
        app,
        FormCase(
            "account language",
            "/account",
            {"language": "es"},
            ["language"],
            world["applicant"],
            snapshot=lambda: rows(app, language),
            accepted=redirected,
            verify=verify,
            reset=reset,
            choices={"language": list(LANGUAGES)},
        ),
    )


# ------------------------------------------------------------------------------------------------
# The report


def counts_table() -> str:
    lines = [f"{'form':<36} {'accepted':>9} {'refused':>9}"]
    for name, counter in sorted(COUNTS.items()):
        lines.append(f"{name:<36} {counter['accepted']:>9} {counter['refused']:>9}")
    return "\n".join(lines)


@pytest.fixture(scope="module", autouse=True)
def fuzz_report():
    yield
    if COUNTS:
        ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
        report = counts_table()
        ARTIFACT.write_text(report + "\n")
        print(f"\nfuzz examples per form ({EXAMPLES} each):\n{report}")
