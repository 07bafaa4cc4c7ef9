"""One commit per request, rolled back on any error; services never commit; refportal.transactions is the
one place that commits or rolls back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import abort

from refportal.accounts.models import User
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.transactions import StrayCommit, attempt, unit_of_work
from refportal.web import csv_download
from tests.factories import make_application, make_user
from tests.web import Browser, csrf_token_from

PACKAGE = Path(__file__).resolve().parents[2] / "refportal"


def test_nothing_but_the_transactions_module_commits_or_rolls_back():
    calls = []
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "transactions.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            is_call = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            if is_call and node.func.attr in ("commit", "rollback"):
                calls.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {ast.unparse(node)}")
    assert calls == []


def _names(app) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(sa.select(User.name)))


def _app_with_views(make_app):
    """An app with test views registered before create_app wraps every view in the request's transaction."""
    from refportal import transactions

    app = make_app()
    views = {}

    def service_refused():
        db.session.add(User(email="refused@example.org", name="refused", password_hash="x"))
        db.session.flush()
        raise Refused("no")

    def flushing_then(what: str):
        db.session.add(User(email=f"{what}@example.org", name=what, password_hash="x"))
        db.session.flush()

    def ok():
        flushing_then("kept")
        return "ok"

    def aborts():
        flushing_then("aborted")
        abort(404)

    def fails():
        flushing_then("failed")
        raise RuntimeError("boom")

    def refused_then_reading():
        result = attempt(service_refused)
        assert result.refusal is not None
        flushing_then("reading")  # what the page records after the refusal is kept
        return "refused", 400

    def commits_itself():
        flushing_then("stray")
        db.session.commit()
        return "never"

    def streams(commit: bool):
        def rows():
            yield "name\r\n"
            for name in db.session.scalars(sa.select(User.name).order_by(User.name)):
                yield f"{name}\r\n"
            if commit:
                db.session.add(User(email="streamed@example.org", name="streamed", password_hash="x"))
                db.session.commit()
                yield "never\r\n"

        flushing_then("committing" if commit else "before the body")
        return csv_download(rows(), "rows.csv")

    views.update(
        ok=ok,
        aborts=aborts,
        fails=fails,
        refused_then_reading=refused_then_reading,
        commits_itself=commits_itself,
        streams=lambda: streams(commit=False),
        streams_and_commits=lambda: streams(commit=True),
    )
    for name, view in views.items():
        app.add_url_rule(f"/test/{name}", name, view)
    transactions.install_request_transaction(app)  # wrap the views just added, as create_app wraps its own
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_a_request_commits_once_after_its_view_and_keeps_nothing_of_an_error(make_app):
    app = _app_with_views(make_app)
    client = app.test_client()
    assert client.get("/test/ok").status_code == 200
    assert client.get("/test/aborts").status_code == 404
    assert client.get("/test/fails").status_code == 500
    assert client.get("/test/refused_then_reading").status_code == 400
    assert _names(app) == ["kept", "reading"]


def test_a_commit_in_a_view_is_refused(make_app):
    app = _app_with_views(make_app)
    response = app.test_client().get("/test/commits_itself")
    assert response.status_code == 500
    assert _names(app) == []


def test_a_streamed_body_reads_after_the_requests_commit_and_may_not_commit(make_app):
    """The view's changes are committed before the body is produced (the body reads them); the body's own
    commit is refused, and nothing it wrote is kept."""
    app = _app_with_views(make_app)
    client = app.test_client()
    response = client.get("/test/streams")
    assert response.is_streamed and response.get_data(as_text=True) == "name\r\nbefore the body\r\n"
    with pytest.raises(StrayCommit):
        client.get("/test/streams_and_commits").get_data()
    assert _names(app) == ["before the body", "committing"]


def test_a_unit_of_work_commits_or_rolls_back_and_a_commit_inside_it_is_refused(app_ctx):
    with unit_of_work():
        db.session.add(User(email="unit@example.org", name="unit", password_hash="x"))
    with pytest.raises(RuntimeError), unit_of_work():
        db.session.add(User(email="lost@example.org", name="lost", password_hash="x"))
        raise RuntimeError("the job failed")
    with pytest.raises(StrayCommit), unit_of_work():
        db.session.add(User(email="stray@example.org", name="stray", password_hash="x"))
        db.session.commit()
    assert sorted(db.session.scalars(sa.select(User.name))) == ["unit"]


def _lost(*args, **kwargs):
    raise sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))


def test_every_view_runs_in_the_requests_transaction(app):
    """A view registered after create_app wrapped them would escape the one commit per request."""
    unwrapped = [e for e, view in app.view_functions.items() if "transactional" not in view.__code__.co_qualname]
    assert unwrapped == []


def test_a_logout_whose_commit_fails_leaves_every_session_as_it_was(app, monkeypatch):
    with app.app_context():
        email = make_user().email
    here, elsewhere = Browser(app.test_client()), Browser(app.test_client())
    here.login(email)
    elsewhere.login(email)
    token = csrf_token_from(here.get("/dashboard").get_data(as_text=True))
    app.config["TESTING"] = False  # the 500 page, as in production
    monkeypatch.setattr(db.session, "commit", _lost)
    response = here.client.post("/logout", data={"csrf_token": token})
    monkeypatch.undo()
    assert response.status_code == 500
    assert "You are logged out." not in response.get_data(as_text=True)
    assert here.get("/dashboard").status_code == 200  # still signed in here, as everywhere else
    assert elsewhere.get("/dashboard").status_code == 200


def test_an_action_whose_commit_fails_is_not_confirmed_now_or_on_the_next_page(app, browser, monkeypatch):
    with app.app_context():
        user = make_user()
        application_id = make_application(applicant=user).id
        email = user.email
    browser.login(email)
    page = f"/applications/{application_id}"
    token = csrf_token_from(browser.get(page).get_data(as_text=True))
    app.config["TESTING"] = False
    monkeypatch.setattr(db.session, "commit", _lost)
    response = browser.client.post(f"{page}/withdraw", data={"csrf_token": token})
    monkeypatch.undo()
    assert response.status_code == 500
    assert "The application is withdrawn." not in response.get_data(as_text=True)
    assert "The application is withdrawn." not in browser.get(page).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Application, application_id).status is ApplicationStatus.DRAFT
