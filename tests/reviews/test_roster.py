"""The membership roster import: matched, unmatched and conflicting rows; bad files refused whole."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from refportal.applications.models import Application
from refportal.db import utc_today
from refportal.extensions import db
from refportal.membership.models import MembershipStatus, VerificationSource
from refportal.membership.roster import RosterInvalid, parse_roster
from tests.factories import declare_current_membership, make_application, make_user
from tests.reviews.conftest import logged_in

NEXT_YEAR = (utc_today() + timedelta(days=365)).isoformat()
LAST_YEAR = (utc_today() - timedelta(days=365)).isoformat()


@pytest.fixture
def declared(app):
    """Three applicants with declared memberships IO-1 (Ann), IO-2 (Bo), IO-3 (Cy), and an admin."""
    from refportal.accounts.models import Role

    ids = {}
    with app.app_context():
        make_user(email="admin@example.org", name="Alex Admin", role=Role.ADMIN)
        for number, name, email in (
            ("IO-1", "Ann Lee", "ann@example.org"),
            ("IO-2", "Bo Chan", "bo@example.org"),
            ("IO-3", "Cy Diaz", "cy@example.org"),
        ):
            application = make_application(make_user(email=email, name=name))
            declaration = declare_current_membership(application)
            declaration.member_number = number
            db.session.commit()
            ids[name] = application.id
    return ids


def statuses(app, ids):
    with app.app_context():
        return {name: db.session.get(Application, i).membership.status for name, i in ids.items()}


ROSTER = (
    "member_number,email,name,expires_on\n"
    f"IO-1,ann@example.org,Someone Else,{NEXT_YEAR}\n"  # number + e-mail: matched
    f"io-2,other@example.org,  bo   CHAN ,{NEXT_YEAR}\n"  # number + name: matched
    f"IO-3,x@example.org,Not Cy,{NEXT_YEAR}\n"  # number only: conflict
    f"IO-9,nobody@example.org,Nobody,{NEXT_YEAR}\n"  # unmatched
)


def upload(browser, text: str):
    page = browser.get("/admin/roster").get_data(as_text=True)
    from tests.conftest import csrf_token_from

    return browser.client.post(
        "/admin/roster",
        data={"csrf_token": csrf_token_from(page), "roster": (io.BytesIO(text.encode()), "roster.csv")},
        content_type="multipart/form-data",
    )


def test_the_web_import_reports_matched_unmatched_and_conflicting_rows(app, declared):
    body = upload(logged_in(app, "admin@example.org"), ROSTER).get_data(as_text=True)
    assert "Matched 2, unmatched 1, conflicts 1." in body
    assert "Line 4: member number IO-3 is declared by Cy Diaz" in body and "5" in body
    assert statuses(app, declared) == {
        "Ann Lee": MembershipStatus.VERIFIED,
        "Bo Chan": MembershipStatus.VERIFIED,
        "Cy Diaz": MembershipStatus.DECLARED,
    }
    with app.app_context():
        membership = db.session.get(Application, declared["Ann Lee"]).membership
        assert membership.verification_source is VerificationSource.ROSTER
        assert membership.expires_on.isoformat() == NEXT_YEAR and membership.verified_by_id is not None


def test_an_expired_roster_entry_is_a_conflict(app, declared):
    body = upload(
        logged_in(app, "admin@example.org"),
        f"member_number,email,name,expires_on\nIO-1,ann@example.org,Ann Lee,{LAST_YEAR}\n",
    ).get_data(as_text=True)
    assert "Matched 0, unmatched 0, conflicts 1." in body and "expired on" in body


@pytest.mark.parametrize(
    "text, problem",
    [
        ("number,mail\n1,a@example.org\n", "line 1"),
        (f"member_number,email,name,expires_on\nIO-1,not-an-address,Ann,{NEXT_YEAR}\n", "line 2"),
        ("member_number,email,name,expires_on\nIO-1,ann@example.org,Ann,31/12/2030\n", "line 2"),
        (f"member_number,email,name,expires_on\nIO-1,ann@example.org,Ann,{NEXT_YEAR}\nIO-2,bo@example.org\n", "line 3"),
    ],
)
def test_a_malformed_file_is_refused_with_the_line_and_nothing_changes(app, declared, text, problem):
    body = upload(logged_in(app, "admin@example.org"), text).get_data(as_text=True)
    assert "The roster was not imported; nothing changed." in body and problem.capitalize() in body
    assert set(statuses(app, declared).values()) == {MembershipStatus.DECLARED}


def test_the_parser_lists_every_fault():
    text = f"member_number,email,name,expires_on\n,bad,Ann,{NEXT_YEAR}\nIO-2,bo@example.org,Bo,never\n"
    with pytest.raises(RosterInvalid) as refused:
        parse_roster(text)
    assert [line for line, _ in refused.value.problems] == [2, 2, 3]


def test_a_file_that_is_not_csv_is_refused(app, declared):
    browser = logged_in(app, "admin@example.org")
    page = browser.get("/admin/roster").get_data(as_text=True)
    from tests.conftest import csrf_token_from

    response = browser.client.post(
        "/admin/roster",
        data={"csrf_token": csrf_token_from(page), "roster": (io.BytesIO(b"\xff\xfe"), "roster.xlsx")},
        content_type="multipart/form-data",
    )
    assert "Upload a .csv file." in response.get_data(as_text=True)


def test_the_command_line_import(app, declared, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER)
    result = app.test_cli_runner().invoke(args=["membership", "import", str(path), "--as", "admin@example.org"])
    assert result.exit_code == 0, result.output
    assert "matched 2, unmatched 1, conflicts 1" in result.output and "conflict, line 4" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("member_number,email,name,expires_on\nIO-1,ann@example.org,Ann,someday\n")
    result = app.test_cli_runner().invoke(args=["membership", "import", str(bad), "--as", "admin@example.org"])
    assert result.exit_code != 0 and "line 2" in result.output and "nothing changed" in result.output
