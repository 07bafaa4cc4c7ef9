"""The statements of the busiest pages are built once and only bound per request (SQLAlchemy then finds
their compiled form in its cache without building the statement and its cache key again)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from refportal.accounts.models import Role
from tests.builders import logged_in
from tests.factories import make_user


def statements_of(client, path: str) -> list[object]:
    """The ORM statements one request to `path` executed."""
    seen: list[object] = []

    def note(state) -> None:
        seen.append(state.statement)

    sa.event.listen(Session, "do_orm_execute", note)
    try:
        assert client.get(path).status_code == 200
    finally:
        sa.event.remove(Session, "do_orm_execute", note)
    return seen


def assert_built_once(client, path: str, first_ones: int | None = None) -> None:
    """Every statement of a request to `path` (or its `first_ones`) is the very one the request before ran."""
    first, again = statements_of(client, path)[:first_ones], statements_of(client, path)[:first_ones]
    assert first, "no statement"
    assert [id(statement) for statement in again] == [id(statement) for statement in first]


def test_the_referees_step_binds_the_statement_it_built_once(app, sam_link):
    assert_built_once(app.test_client(), f"{sam_link}/step/2")


def test_the_dashboard_and_the_application_page_bind_statements_built_once(app, browser, applicant_app):
    assert_built_once(browser.client, "/dashboard")
    # The signed-in user and the application with its membership and references (the fees come after).
    assert_built_once(browser.client, f"/applications/{applicant_app.id}", first_ones=2)


def test_my_assigned_files_binds_the_statement_it_built_once(app):
    with app.app_context():
        make_user(email="rev@example.org", role=Role.REVIEWER)
    assert_built_once(logged_in(app, "rev@example.org").client, "/review/mine")
