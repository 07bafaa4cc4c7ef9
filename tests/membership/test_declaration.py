"""Declaring membership, its status, and the fee it waives or adds."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from refportal.applications.categories import Credential
from refportal.applications.models import Application
from refportal.db import utc_today
from refportal.extensions import db
from refportal.membership.models import (
    Association,
    MembershipDeclaration,
    MembershipKind,
    MembershipStatus,
)
from tests.factories import make_application, make_user

NEXT_YEAR = (utc_today() + timedelta(days=365)).isoformat()


@pytest.fixture
def own_application(app, browser):
    with app.app_context():
        user = make_user()
        application = make_application(user, category=2)
    browser.login(user.email)
    return application


def declare(browser, application, **changes):
    data = {
        "kind": "current_member",
        "association": "waimh",
        "association_name": "",
        "member_number": "W-77",
        "expires_on": NEXT_YEAR,
        **changes,
    }
    return browser.submit(f"/applications/{application.id}/membership", data)


def declaration(app, application) -> MembershipDeclaration | None:
    with app.app_context():
        found = db.session.get(Application, application.id).membership
        if found is not None:
            db.session.expunge(found)
        return found


def test_declaring_a_current_membership(app, browser, own_application):
    assert declare(browser, own_application).status_code == 302
    saved = declaration(app, own_application)
    assert (saved.kind, saved.association, saved.member_number, saved.status) == (
        MembershipKind.CURRENT_MEMBER,
        Association.WAIMH,
        "W-77",
        MembershipStatus.DECLARED,
    )
    body = browser.get(f"/applications/{own_application.id}").get_data(as_text=True)
    assert "World Association for Infant Mental Health" in body and "W-77" in body
    fees = body[body.index('id="fees"') :]
    assert "Still to pay" in fees and "<strong>$75.00</strong>" in fees  # no membership fee for a member


def test_saying_you_will_join_adds_the_membership_fee(app, browser, own_application):
    assert (
        declare(browser, own_application, kind="will_join", association="", member_number="", expires_on="").status_code
        == 302
    )
    saved = declaration(app, own_application)
    assert saved.kind is MembershipKind.WILL_JOIN and saved.association is Association.INFANCY_ONWARD
    body = browser.get(f"/applications/{own_application.id}").get_data(as_text=True)
    fees = body[body.index('id="fees"') :]
    assert "no longer owed" not in fees and "<strong>$125.00</strong>" in fees
    assert "INfancy Onward: joining with this application (the membership fee is added)" in body


def test_another_association_needs_its_name(app, browser, own_application):
    body = declare(browser, own_application, association="other").get_data(as_text=True)
    assert "Name the infant mental health association." in body
    assert declaration(app, own_application) is None
    declare(browser, own_application, association="other", association_name="Michigan AIMH")
    assert declaration(app, own_application).association_label == "Michigan AIMH"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"expires_on": (utc_today() - timedelta(days=1)).isoformat()}, "This membership expired on"),
        ({"expires_on": ""}, "Enter the date your membership expires."),
        ({"expires_on": "31/31/2031"}, "Not a valid date value"),
        ({"member_number": ""}, "Enter your member number."),
        ({"member_number": "X" * 41}, "cannot be longer than 40 characters"),
        ({"member_number": "W-1\r\nX"}, "without line breaks"),
        ({"association": ""}, "Choose the association you are a member of."),
        ({"kind": ""}, "Say whether you are a member or will join."),
    ],
)
def test_bad_declarations_are_refused_and_nothing_is_saved(app, browser, own_application, changes, message):
    response = declare(browser, own_application, **changes)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert declaration(app, own_application) is None


def test_changing_a_declaration_requires_verification_again(app, browser, own_application):
    declare(browser, own_application)
    with app.app_context():
        saved = db.session.get(Application, own_application.id).membership
        saved.status = MembershipStatus.VERIFIED
        db.session.commit()
    declare(browser, own_application, member_number="W-78")
    saved = declaration(app, own_application)
    assert (saved.member_number, saved.status, saved.verified_at) == ("W-78", MembershipStatus.DECLARED, None)


def test_a_membership_lapses_on_its_expiry_date():
    declared = MembershipDeclaration(
        kind=MembershipKind.CURRENT_MEMBER,
        association=Association.WAIMH,
        expires_on=date(2026, 6, 30),
        status=MembershipStatus.VERIFIED,
    )
    assert declared.status_on(date(2026, 6, 30)) is MembershipStatus.VERIFIED
    assert declared.status_on(date(2026, 7, 1)) is MembershipStatus.EXPIRED
    assert not declared.is_current_on(date(2026, 7, 1))
    rejected = MembershipDeclaration(
        kind=MembershipKind.CURRENT_MEMBER,
        association=Association.WAIMH,
        expires_on=date(2026, 6, 30),
        status=MembershipStatus.REJECTED,
    )
    assert rejected.status_on(date(2026, 7, 1)) is MembershipStatus.REJECTED
    assert not rejected.is_current_on(date(2026, 1, 1))


def test_the_form_shows_the_saved_declaration(browser, own_application):
    declare(browser, own_application)
    body = browser.get(f"/applications/{own_application.id}/membership").get_data(as_text=True)
    assert 'value="W-77"' in body and f'value="{NEXT_YEAR}"' in body


def test_category_name_follows_the_credential(app):
    with app.app_context():
        user = make_user()
        imh = make_application(user, credential=Credential.IMH_E, category=3)
        assert imh.category_name == "Infant Mental Health Specialist"
        imh.credential = Credential.ECMH_E
        assert imh.category_name == "Early Childhood Mental Health Specialist"
