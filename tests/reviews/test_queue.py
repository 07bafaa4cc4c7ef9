"""The queue: filters, search, sorting, paging, completeness, and a statement count that does not grow."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from refportal.accounts.models import Role
from refportal.applications.categories import Credential
from refportal.applications.lifecycle import ApplicationStatus
from refportal.db import utcnow
from refportal.extensions import db
from refportal.membership.models import MembershipStatus
from tests.builders import logged_in, make_submitted_application
from tests.factories import make_application, make_user
from tests.reviews.helpers import add_applications, statements_for


def names(body: str) -> list[str]:
    import re

    return re.findall(r'/review/applications/\d+">([^<]+)</a>', body)


@pytest.fixture
def varied(app):
    """Four applicants in different states, and a reviewer."""
    with app.app_context():
        make_user(email="rev@example.org", role=Role.REVIEWER)
        zoe = make_user(email="zoe@example.org", name="Zoe Complete")
        complete = make_submitted_application(zoe)
        complete.membership.status = MembershipStatus.VERIFIED
        complete.submitted_at = utcnow() - timedelta(days=10)
        yan = make_user(email="yan@example.org", name="Yan Submitted")
        submitted = make_submitted_application(yan, email_prefix="y.")
        submitted.submitted_at = utcnow() - timedelta(days=2)
        make_application(make_user(email="xia@example.org", name="Xia Draft"), credential=Credential.ECMH_E, category=1)
        make_application(
            make_user(email="wes@example.org", name="Wes Endorsed"),
            status=ApplicationStatus.ENDORSED,
            decided_at=utcnow(),
        )
        db.session.commit()


def test_everything_newest_submission_first(app, varied):
    body = logged_in(app, "rev@example.org").get("/review/").get_data(as_text=True)
    assert "4 applications" in body
    assert names(body)[:2] == ["Yan Submitted", "Zoe Complete"]
    assert "3 of 3" in body


@pytest.mark.parametrize(
    "query, expected",
    [
        ("q=zoe", ["Zoe Complete"]),
        ("q=XIA%40EXAMPLE", ["Xia Draft"]),
        ("q=%25", []),
        ("credential=ecmh-e", ["Xia Draft"]),
        ("category=1", ["Xia Draft"]),
        ("status=endorsed", ["Wes Endorsed"]),
        ("membership=verified", ["Zoe Complete"]),
        ("membership=none", ["Xia Draft", "Wes Endorsed"]),
        ("completeness=complete", ["Zoe Complete"]),
        ("status=submitted&completeness=incomplete", ["Yan Submitted"]),
        ("sort=name", ["Wes Endorsed", "Xia Draft", "Yan Submitted", "Zoe Complete"]),
        ("sort=oldest&status=submitted", ["Zoe Complete", "Yan Submitted"]),
    ],
)
def test_filters_search_and_sorting(app, varied, query, expected):
    body = logged_in(app, "rev@example.org").get(f"/review/?{query}").get_data(as_text=True)
    if "sort=" in query:
        assert names(body) == expected
    else:
        assert sorted(names(body)) == sorted(expected)


def test_submitted_between_dates(app, varied):
    today = utcnow().date()
    browser = logged_in(app, "rev@example.org")
    body = browser.get(f"/review/?submitted_from={today - timedelta(days=5)}&submitted_to={today}").get_data(
        as_text=True
    )
    assert names(body) == ["Yan Submitted"]
    body = browser.get(f"/review/?submitted_to={today - timedelta(days=5)}").get_data(as_text=True)
    assert names(body) == ["Zoe Complete"]


def test_bad_filter_values_are_explained_and_ignored(app, varied):
    response = logged_in(app, "rev@example.org").get("/review/?category=9&submitted_from=yesterday&page=-3&sort=x")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Not a valid choice" in body and "Not a valid date value" in body
    assert "4 applications" in body


def test_the_csv_export_is_the_filtered_queue(app, varied):
    response = logged_in(app, "rev@example.org").get("/review/export.csv?status=submitted")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert sorted(r["applicant"] for r in rows) == ["Yan Submitted", "Zoe Complete"]
    zoe = next(r for r in rows if r["applicant"] == "Zoe Complete")
    assert (zoe["credential"], zoe["category"], zoe["membership"], zoe["references_counted"]) == (
        "IMH-E",
        "2",
        "verified",
        "3",
    )


def test_statements_per_page_do_not_grow_with_the_number_of_applications(app, varied):
    browser = logged_in(app, "rev@example.org")
    add_applications(app, 10)
    small = [statements_for(app, browser, url) for url in ("/review/", "/review/?page=2&sort=name")]
    add_applications(app, 190, start=10)
    large = [statements_for(app, browser, url) for url in ("/review/", "/review/?page=2&sort=name")]
    assert small == large
    assert "204 applications" in browser.get("/review/").get_data(as_text=True)


def test_paging(app, varied):
    app.config["QUEUE_PAGE_SIZE"] = 3
    browser = logged_in(app, "rev@example.org")
    first = browser.get("/review/?sort=name").get_data(as_text=True)
    second = browser.get("/review/?sort=name&page=2").get_data(as_text=True)
    assert names(first) == ["Wes Endorsed", "Xia Draft", "Yan Submitted"] and names(second) == ["Zoe Complete"]
    assert "page 1 of 2" in first and 'rel="next"' in first and "sort=name" in first


def test_exported_cells_cannot_run_as_spreadsheet_formulas(app, varied):
    with app.app_context():
        make_application(make_user(email="f@example.org", name='=HYPERLINK("http://x")'))
    response = logged_in(app, "rev@example.org").get("/review/export.csv?q=f%40example")
    [row] = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert row["applicant"] == '\'=HYPERLINK("http://x")'


def test_beyond_the_count_limit_the_queue_says_more_than_and_still_pages(app, varied):
    app.config.update(QUEUE_PAGE_SIZE=1, QUEUE_COUNT_LIMIT=2)
    browser = logged_in(app, "rev@example.org")
    first = browser.get("/review/?sort=name").get_data(as_text=True)
    assert "More than 2 applications, page 1." in first and "Page 1</span>" in first
    assert 'rel="next"' in first and 'rel="prev"' not in first
    last = browser.get("/review/?sort=name&page=4").get_data(as_text=True)
    assert names(last) == ["Zoe Complete"] and 'rel="prev"' in last and 'rel="next"' not in last
    narrowed = browser.get("/review/?status=submitted").get_data(as_text=True)
    assert "2 applications, page 1 of 2." in narrowed
