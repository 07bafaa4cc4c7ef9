"""An endorsement ended before its time: the holder gives it up, or staff revoke it with a reason; either
leaves the registry at once, is final, happens once even from two tabs, and is refused to anyone else.
Staff find endorsements in a filtered, keyset-paged list."""

from __future__ import annotations

import sqlalchemy as sa

from refportal.accounts.models import Role
from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.endorsements import staff_list
from refportal.endorsements.lifecycle import EndorsementStatus
from refportal.endorsements.models import Endorsement
from refportal.extensions import db
from refportal.mail.models import OutboxEmail
from tests.endorsements.helpers import endorse
from tests.factories import EndorsementFactory, make_user
from tests.web import Browser, csrf_token_from


def _status(app, number: str) -> EndorsementStatus:
    with app.app_context():
        return db.session.scalar(sa.select(Endorsement.status).where(Endorsement.number == number))


def _signed_in(app, email: str) -> Browser:
    browser = Browser(app.test_client())
    browser.login(email)
    return browser


def test_the_holder_gives_an_endorsement_up_and_it_leaves_the_registry(app):
    number = endorse(app, name="Ana Alvarez", email="ana@example.org")
    assert "Ana Alvarez" in app.test_client().get("/registry/").get_data(as_text=True)
    ana = _signed_in(app, "ana@example.org")
    page = ana.get(f"/endorsements/{number}/relinquish")
    assert "cannot be undone" in page.get_data(as_text=True)
    assert _status(app, number) is EndorsementStatus.ACTIVE  # the page changes nothing

    response = ana.submit(f"/endorsements/{number}/relinquish", {})
    assert response.status_code == 302
    assert _status(app, number) is EndorsementStatus.RELINQUISHED
    assert "Ana Alvarez" not in app.test_client().get("/registry/").get_data(as_text=True)
    assert "Not valid" in app.test_client().get(f"/registry/{number}").get_data(as_text=True)
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
        assert AuditAction.ENDORSEMENT_RELINQUISHED in actions


def test_an_older_tab_cannot_give_it_up_twice(app):
    number = endorse(app, name="Ana Alvarez", email="ana@example.org")
    ana = _signed_in(app, "ana@example.org")
    token = csrf_token_from(ana.get(f"/endorsements/{number}/relinquish").get_data(as_text=True))
    assert ana.client.post(f"/endorsements/{number}/relinquish", data={"csrf_token": token}).status_code == 302
    again = ana.client.post(f"/endorsements/{number}/relinquish", data={"csrf_token": token})
    assert again.status_code == 200 and "nothing to give up" in again.get_data(as_text=True)
    with app.app_context():
        history = db.session.scalars(sa.select(Endorsement).where(Endorsement.number == number)).one().changes
        assert [change.status for change in history].count(EndorsementStatus.RELINQUISHED) == 1


def test_nobody_else_can_see_or_give_up_an_endorsement(app):
    number = endorse(app, name="Ana Alvarez", email="ana@example.org")
    with app.app_context():
        make_user(email="ben@example.org", name="Ben")
        make_user(email="staff@example.org", name="Sam Staff", role=Role.ADMIN)
    ben = _signed_in(app, "ben@example.org")
    assert ben.get(f"/endorsements/{number}/relinquish").status_code == 404
    assert ben.client.post(f"/endorsements/{number}/relinquish").status_code in (400, 404)
    for hostile in ("IMH-00000000", "<script>", "x" * 500, "IMH-%00"):
        assert ben.get(f"/endorsements/{hostile}/relinquish").status_code == 404
    assert _status(app, number) is EndorsementStatus.ACTIVE


def test_staff_revoke_with_a_reason_and_the_holder_is_told(app):
    number = endorse(app, name="Ana <b>Alvarez</b>", email="ana@example.org")
    with app.app_context():
        make_user(email="staff@example.org", name="Sam Staff", role=Role.ADMIN)
    staff = _signed_in(app, "staff@example.org")
    page = staff.get(f"/staff/endorsements/{number}").get_data(as_text=True)
    assert "Ana &lt;b&gt;Alvarez&lt;/b&gt;" in page and "Revoke this endorsement" in page

    empty = staff.submit(
        f"/staff/endorsements/{number}/revoke", {"reason": "   "}, form_url=f"/staff/endorsements/{number}"
    )
    assert empty.status_code == 422 and "Say why" in empty.get_data(as_text=True)
    assert _status(app, number) is EndorsementStatus.ACTIVE

    reason = "Ethics committee finding <a href='http://evil.example'>link</a>, 2026-11."
    done = staff.submit(
        f"/staff/endorsements/{number}/revoke", {"reason": reason}, form_url=f"/staff/endorsements/{number}"
    )
    assert done.status_code == 302
    assert _status(app, number) is EndorsementStatus.REVOKED
    with app.app_context():
        mail = db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.template == "endorsement_revoked")).one()
        assert mail.to_address == "ana@example.org" and "Ethics committee finding" in mail.body_text
        assert "<a href='http://evil.example'>" not in mail.body_html  # the reason is text, escaped
    page = staff.get(f"/staff/endorsements/{number}").get_data(as_text=True)
    assert "Revoke this endorsement" not in page  # final: nothing more to do
    assert "Not valid" in app.test_client().get(f"/registry/{number}").get_data(as_text=True)


def test_only_administrators_reach_the_staff_pages(app):
    number = endorse(app, name="Ana Alvarez", email="ana@example.org")
    with app.app_context():
        make_user(email="rev@example.org", name="Rita", role=Role.REVIEWER)
    for browser in (_signed_in(app, "rev@example.org"), _signed_in(app, "ana@example.org")):
        assert browser.get("/staff/endorsements/").status_code == 404
        assert browser.get(f"/staff/endorsements/{number}").status_code == 404
        assert browser.client.post(f"/staff/endorsements/{number}/revoke", data={"reason": "x"}).status_code in (
            400,
            404,
        )
    assert _status(app, number) is EndorsementStatus.ACTIVE


def test_the_staff_list_filters_and_pages_by_keyset(app):
    with app.app_context():
        make_user(email="staff@example.org", name="Sam Staff", role=Role.ADMIN)
        for _ in range(staff_list.PAGE_SIZE + 3):
            EndorsementFactory()
        EndorsementFactory(status=EndorsementStatus.LAPSED, holder__name="Lena Lapsed")
        db.session.commit()
    staff = _signed_in(app, "staff@example.org")
    first = staff.get("/staff/endorsements/").get_data(as_text=True)
    assert first.count("/staff/endorsements/IMH-") == staff_list.PAGE_SIZE and "Next page" in first
    after = first.split("after=")[1].split('"')[0]
    second = staff.get(f"/staff/endorsements/?after={after}").get_data(as_text=True)
    assert second.count("/staff/endorsements/IMH-") == 4 and "Next page" not in second
    lapsed = staff.get("/staff/endorsements/?status=lapsed").get_data(as_text=True)
    assert "Lena Lapsed" in lapsed and lapsed.count("/staff/endorsements/IMH-") == 1
    assert "Lena Lapsed" in staff.get("/staff/endorsements/?q=lena").get_data(as_text=True)
    for hostile in (
        "?after=9999-99-99_1",
        "?after=x",
        "?status=nope",
        "?q=%25",
        "?q=" + "<" * 300,
        "?after=2026-01-01_99999999999",
    ):
        assert staff.get("/staff/endorsements/" + hostile).status_code == 200, hostile
