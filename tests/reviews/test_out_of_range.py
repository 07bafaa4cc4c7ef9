"""Values Python or the database cannot hold (a day in year 9999, an id of twenty digits) are refused
with a message, never a 500; a round kept from before dates were checked neither breaks the rounds
page nor stays for good."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from refportal.extensions import db
from refportal.reviews.models import ReviewAssignment, ReviewRound
from tests.builders import logged_in
from tests.reviews.helpers import open_round, round_id

DATE_MESSAGE = "Enter a date between 1900 and 2199."
FAR_DAYS = ["9999-12-31", "0001-01-01", "2200-01-01", "1899-12-31"]


@pytest.mark.parametrize("day", FAR_DAYS)
@pytest.mark.parametrize(
    "url",
    [
        "/staff/mail/?queued_to={day}",
        "/staff/mail/?queued_from={day}",
        "/review/?submitted_to={day}",
        "/review/?submitted_from={day}",
        "/review/export.csv?submitted_to={day}",
    ],
)
def test_a_far_day_in_a_filter_is_refused_with_a_message(app, people, url, day):
    reviewer = logged_in(app, "rev@example.org")
    response = reviewer.get(url.format(day=day))
    assert response.status_code in (200, 400), response.status_code
    if "export" not in url:
        assert DATE_MESSAGE in response.get_data(as_text=True)


@pytest.mark.parametrize("field", ["opens_on", "deadline", "due"])
def test_a_round_in_year_9999_is_refused_with_a_message(app, people, field):
    admin = logged_in(app, "admin@example.org")
    dates = {"opens_on": date(2030, 1, 1), "deadline": date(2030, 3, 31), "due": date(2030, 5, 1)}
    dates[field] = date(9999, 12, 31)
    response = open_round(admin, "Far", dates["opens_on"], dates["deadline"], dates["due"])
    assert response.status_code == 400 and DATE_MESSAGE in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ReviewRound.id))) == 0


def test_a_round_kept_from_before_the_check_leaves_the_rounds_page_working_and_can_be_deleted(app, people):
    with app.app_context():
        db.session.add(
            ReviewRound(
                name="Typo",
                opens_on=date(9999, 10, 1),
                submission_deadline=date(9999, 12, 31),
                review_due=date(9999, 12, 31),
            )
        )
        db.session.commit()
    admin = logged_in(app, "admin@example.org")
    page = admin.get("/review/rounds")
    assert page.status_code == 200 and "Typo" in page.get_data(as_text=True)
    typo = round_id(app, "Typo")
    round_page = f"/review/rounds/{typo}"
    assert "Delete this round" in admin.get(round_page).get_data(as_text=True)
    deleted = admin.submit(f"{round_page}/delete", {}, form_url=round_page)
    assert deleted.status_code == 302
    with app.app_context():
        assert db.session.get(ReviewRound, typo) is None


def test_a_round_that_applications_joined_cannot_be_deleted(app, people):
    admin = logged_in(app, "admin@example.org")
    assert open_round(admin).status_code == 302  # the people's submitted file joins it
    joined = round_id(app)
    round_page = f"/review/rounds/{joined}"
    assert "Delete this round" not in admin.get(round_page).get_data(as_text=True)
    refused = admin.submit(f"{round_page}/delete", {}, form_url=round_page)
    assert refused.status_code == 302
    assert "cannot be deleted" in admin.get(refused.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ReviewRound, joined) is not None
    reviewer = logged_in(app, "rev@example.org")
    assert reviewer.client.post(f"{round_page}/delete").status_code in (400, 404)


@pytest.mark.parametrize("value", ["9" * 20, "2147483648", "²", "-1", "1e3", " 1", "0x10"])
def test_a_reviewer_id_no_account_can_have_is_refused_with_a_message(app, people, value):
    admin = logged_in(app, "admin@example.org")
    file_url = f"/review/applications/{people['application_id']}"
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count(ReviewAssignment.id)))
    response = admin.submit(f"{file_url}/assignments", {"reviewer": value}, form_url=file_url)
    assert response.status_code == 302
    assert "Choose a reviewer to assign." in admin.get(file_url).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ReviewAssignment.id))) == before
