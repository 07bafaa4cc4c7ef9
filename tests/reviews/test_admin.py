"""Administration: invitations, roles, deactivation."""

from __future__ import annotations

import sqlalchemy as sa

from refportal.accounts.models import Role, User
from refportal.extensions import db
from tests.builders import logged_in
from tests.web import Browser, link_in


def account(app, email) -> User:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        db.session.expunge_all()
        return user


def test_inviting_a_reviewer_who_sets_their_own_password(app, people, outbox):
    admin = logged_in(app, "admin@example.org")
    response = admin.submit(
        "/admin/users/invite",
        {"name": "Nora New", "email": "nora@example.org", "role": "reviewer"},
        form_url="/admin/users",
    )
    assert response.status_code == 302
    email = outbox(to="nora@example.org")[-1]
    assert "invited" in email.subject
    link = link_in(email.body_text, "/welcome/")
    nora = Browser(app.test_client())
    assert nora.submit(link, {"password": "nora pass phrase", "confirm": "nora pass phrase"}).status_code == 302
    assert nora.get(link).status_code == 400  # used once
    nora.login("nora@example.org", "nora pass phrase")
    assert nora.get("/review/").status_code == 200
    assert account(app, "nora@example.org").role is Role.REVIEWER


def test_inviting_an_existing_address_is_refused(app, people):
    admin = logged_in(app, "admin@example.org")
    response = admin.submit(
        "/admin/users/invite", {"name": "Again", "email": "rev@example.org", "role": "admin"}, form_url="/admin/users"
    )
    assert response.status_code == 400 and "already exists" in response.get_data(as_text=True)


def test_changing_a_role(app, people):
    admin = logged_in(app, "admin@example.org")
    target = account(app, "rev2@example.org")
    admin.submit(f"/admin/users/{target.id}/role", {"role": "admin"}, form_url="/admin/users")
    assert account(app, "rev2@example.org").role is Role.ADMIN
    me = account(app, "admin@example.org")
    response = admin.submit(f"/admin/users/{me.id}/role", {"role": "reviewer"}, form_url="/admin/users")
    assert account(app, "admin@example.org").role is Role.ADMIN
    assert (
        "cannot change your own role" in admin.get("/admin/users").get_data(as_text=True) or response.status_code == 302
    )


def test_deactivating_ends_the_session_and_refuses_login(app, people):
    reviewer = logged_in(app, "rev@example.org")
    assert reviewer.get("/review/").status_code == 200
    admin = logged_in(app, "admin@example.org")
    target = account(app, "rev@example.org")
    admin.submit(f"/admin/users/{target.id}/active", {"active": "0"}, form_url="/admin/users")
    assert reviewer.get("/review/").status_code == 302  # logged out
    response = Browser(app.test_client()).submit(
        "/login", {"email": "rev@example.org", "password": "correct horse battery staple"}
    )
    assert "deactivated" in response.get_data(as_text=True)
    admin.submit(f"/admin/users/{target.id}/active", {"active": "1"}, form_url="/admin/users")
    logged_in(app, "rev@example.org")
