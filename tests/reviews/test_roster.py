"""The membership roster import: matched, unmatched and conflicting rows; bad files refused whole."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from refportal.accounts.models import Role
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application
from refportal.audit.models import AuditEvent
from refportal.db import utc_today
from refportal.extensions import db
from refportal.membership.models import MembershipDeclaration, MembershipStatus, VerificationSource
from refportal.membership.roster import RosterInvalid, parse_roster
from tests.builders import logged_in
from tests.factories import declare_current_membership, make_application, make_user

NEXT_YEAR = (utc_today() + timedelta(days=365)).isoformat()
LAST_YEAR = (utc_today() - timedelta(days=365)).isoformat()


@pytest.fixture
def declared(app):
    """Three applicants with declared memberships IO-1 (Ann), IO-2 (Bo), IO-3 (Cy), and an admin."""
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
    from tests.web import csrf_token_from

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
    from tests.web import csrf_token_from

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


# ------------------------------------------------------------------------------------------------
# Rows the import leaves alone: a reviewer's rejection, decided and withdrawn applications


def snapshot(app, ids):
    """Every column of each declaration the import could change."""
    with app.app_context():
        found = {}
        for name, i in ids.items():
            m = db.session.get(Application, i).membership
            found[name] = (m.status, m.expires_on, m.verified_by_id, m.verified_at, m.verification_note)
        return found


def reject(app, application_id, note="Not on the association's list"):
    from refportal.membership.services import verify_membership

    with app.app_context():
        application = db.session.get(Application, application_id)
        reviewer = make_user(email=f"rev{application_id}@example.org", name="Rita Reviewer", role=Role.REVIEWER)
        verify_membership(application=application, actor=reviewer, verified=False, note=note, today=utc_today())
        db.session.commit()


def test_the_roster_never_overturns_a_reviewers_rejection(app, declared):
    reject(app, declared["Ann Lee"])
    before = snapshot(app, declared)
    body = upload(logged_in(app, "admin@example.org"), ROSTER).get_data(as_text=True)
    assert "Matched 1, unmatched 1, conflicts 2." in body
    assert "Line 2: a reviewer rejected Ann Lee&#39;s membership on" in body
    assert "(Not on the association&#39;s list); the roster does not overturn a rejection" in body
    assert f'href="/review/applications/{declared["Ann Lee"]}"' in body
    after = snapshot(app, declared)
    assert after["Ann Lee"] == before["Ann Lee"] and after["Ann Lee"][0] is MembershipStatus.REJECTED
    assert after["Bo Chan"][0] is MembershipStatus.VERIFIED  # the rest of the roster is imported


@pytest.mark.parametrize(
    "status",
    [ApplicationStatus.ENDORSED, ApplicationStatus.DEFERRED, ApplicationStatus.DENIED, ApplicationStatus.WITHDRAWN],
)
def test_the_roster_never_touches_a_decided_or_withdrawn_application(app, declared, status):
    with app.app_context():
        application = db.session.get(Application, declared["Bo Chan"])
        application.status = status
        db.session.commit()
    before = snapshot(app, declared)
    body = upload(logged_in(app, "admin@example.org"), ROSTER).get_data(as_text=True)
    assert "Matched 1, unmatched 1, conflicts 2." in body
    assert f"Line 3: Bo Chan&#39;s application #{declared['Bo Chan']} is {status.value}" in body
    assert snapshot(app, declared)["Bo Chan"] == before["Bo Chan"]
    with app.app_context():
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(
                AuditEvent.object_type == "application", AuditEvent.object_id == declared["Bo Chan"]
            )
        ).all()
        assert "membership.verified" not in actions


def test_a_rejection_recorded_while_the_roster_is_imported_is_kept(app, declared, monkeypatch):
    """The import reads the declarations, a reviewer's rejection commits, then the import verifies: the
    conditional update leaves the rejection and the row becomes a conflict."""
    from refportal.membership import roster

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("two concurrent transactions need PostgreSQL")
    read = roster._candidates

    def read_then_reject():
        candidates = read()
        with db.engine.begin() as other:  # another connection: the reviewer's transaction
            other.execute(
                sa.update(MembershipDeclaration)
                .where(MembershipDeclaration.application_id == declared["Ann Lee"])
                .values(status=MembershipStatus.REJECTED)
            )
        return candidates

    monkeypatch.setattr(roster, "_candidates", read_then_reject)
    body = upload(logged_in(app, "admin@example.org"), ROSTER).get_data(as_text=True)
    assert "Matched 1, unmatched 1, conflicts 2." in body
    assert "Ann Lee&#39;s membership changed while the roster was imported; it was left as it is" in body
    assert statuses(app, declared)["Ann Lee"] is MembershipStatus.REJECTED


def test_the_command_line_reports_the_conflicts_and_changes_nothing_for_them(app, declared, tmp_path):
    reject(app, declared["Ann Lee"])
    with app.app_context():
        db.session.get(Application, declared["Bo Chan"]).status = ApplicationStatus.ENDORSED
        db.session.commit()
    before = snapshot(app, declared)
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER)
    result = app.test_cli_runner().invoke(args=["membership", "import", str(path), "--as", "admin@example.org"])
    assert result.exit_code == 0, result.output
    assert "matched 0, unmatched 1, conflicts 3" in result.output
    assert f"conflict, line 2 (application #{declared['Ann Lee']}): a reviewer rejected Ann Lee's" in result.output
    assert f"conflict, line 3 (application #{declared['Bo Chan']}): Bo Chan's application" in result.output
    assert "is endorsed: the roster does not change its membership" in result.output
    assert snapshot(app, declared) == before


# ------------------------------------------------------------------------------------------------
# Garbage: refused whole, with the line, never a 500

HEADER = "member_number,email,name,expires_on\n"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "Line 1: the first line must name the columns"),
        (b"\x00\x01\x02garbage\x7f", "Line 1: the first line must name the columns"),
        (b"\xff\xfe\x00m\x00e", "the file is not UTF-8 text"),
        (HEADER.encode(), "Line 2: the roster lists no member after its first line"),
        (
            (HEADER + 'IO-1,ann@example.org,"' + "x" * 200_000 + f'",{NEXT_YEAR}\n').encode(),
            "Line 2: a value is longer",
        ),
        ((HEADER + f"IO-1,ann@example.org,Ann\rLee,{NEXT_YEAR}\n").encode(), "Line 2: expected 4 values, found 3"),
        ((HEADER + f"IO-1,ann@example.org,Ann\x00Lee,{NEXT_YEAR}\n").encode(), "Line 2: the name contains"),
        (
            (HEADER + f"IO\x1b[31m1,ann@example.org,Ann Lee,{NEXT_YEAR}\n").encode(),
            "Line 2: the member number contains",
        ),
        ((HEADER + f'IO-1,ann@example.org,"Ann,{NEXT_YEAR}\n').encode(), "Line 2: expected 4 values, found 3"),
        # A quoted name over two lines: the next row's fault is on line 4 of the file.
        ((HEADER + f'IO-1,ann@example.org,"Ann\nLee",{NEXT_YEAR}\nIO-2,bo@example.org,Bo,soon\n').encode(), "Line 4:"),
    ],
)
def test_a_garbage_roster_is_refused_with_a_clear_message(app, declared, content, message):
    browser = logged_in(app, "admin@example.org")
    page = browser.get("/admin/roster").get_data(as_text=True)
    from tests.web import csrf_token_from

    response = browser.client.post(
        "/admin/roster",
        data={"csrf_token": csrf_token_from(page), "roster": (io.BytesIO(content), "roster.csv")},
        content_type="multipart/form-data",
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "The roster was not imported; nothing changed." in body
    assert message in body
    assert set(statuses(app, declared).values()) == {MembershipStatus.DECLARED}


def test_the_command_line_refuses_a_file_that_is_not_utf8(app, declared, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(b"\xff\xfe\x00m\x00e\x00m")
    result = app.test_cli_runner().invoke(args=["membership", "import", str(path), "--as", "admin@example.org"])
    assert result.exit_code != 0 and "The file is not UTF-8 text." in result.output
    assert set(statuses(app, declared).values()) == {MembershipStatus.DECLARED}
