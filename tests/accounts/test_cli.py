"""`flask create-user` and `flask seed-demo`."""

from __future__ import annotations

import sqlalchemy as sa

from refportal.accounts.models import Role, User
from refportal.applications.models import Application
from refportal.extensions import db
from tests.web import Browser


def test_create_user_with_a_password(app, runner):
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "Rev@Example.org",
            "--name",
            "Rev Iewer",
            "--role",
            "reviewer",
            "--password",
            "reviewer pass phrase",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Created reviewer rev@example.org" in result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User))
        assert user.role is Role.REVIEWER and user.is_verified
    Browser(app.test_client()).login("rev@example.org", "reviewer pass phrase")


def test_create_user_prompts_for_the_password(app, runner):
    result = runner.invoke(
        args=["create-user", "--email", "boss@example.org", "--name", "Boss", "--role", "admin"],
        input="admin pass phrase 1\nadmin pass phrase 1\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(sa.select(User)).role is Role.ADMIN


def test_create_user_refuses_a_duplicate_and_a_weak_password(app, runner):
    args = ["create-user", "--email", "a@example.org", "--name", "A", "--password", "long enough pass"]
    assert runner.invoke(args=args).exit_code == 0
    duplicate = runner.invoke(args=args)
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    weak = runner.invoke(args=["create-user", "--email", "b@example.org", "--name", "B", "--password", "short"])
    assert weak.exit_code != 0 and "at least 12 characters" in weak.output
    bad_email = runner.invoke(args=["create-user", "--email", "nope", "--name", "B", "--password", "long enough pass"])
    assert bad_email.exit_code != 0 and "valid e-mail" in bad_email.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1


def test_seed_demo_is_idempotent_and_prints_the_logins(make_app):
    app = make_app(ENV_NAME="development")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "reviewer@example.org" in first.output and "demo-password-2026" in first.output
    with app.app_context():
        counts = (
            db.session.scalar(sa.select(sa.func.count(User.id))),
            db.session.scalar(sa.select(sa.func.count(Application.id))),
        )
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    with app.app_context():
        assert (
            counts
            == (
                db.session.scalar(sa.select(sa.func.count(User.id))),
                db.session.scalar(sa.select(sa.func.count(Application.id))),
            )
            == (14, 10)
        )
    Browser(app.test_client()).login("ben@example.org", "demo-password-2026")
