"""One calendar: the portal's dates are UTC dates, whatever the server's local time zone."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest

from refportal.db import utc_today
from tests.factories import declare_current_membership, make_application, make_user
from tests.web import Browser


@pytest.fixture(params=["Etc/GMT-14", "Etc/GMT+12"])  # UTC+14 and UTC-12: at any hour one of them is on another date
def server_zone(request, monkeypatch):
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def test_a_membership_expires_at_the_end_of_its_utc_date_whatever_the_server_zone(app, server_zone):
    with app.app_context():
        user = make_user(email="member@example.org")
        ending_today = make_application(user)
        declare_current_membership(ending_today, expires_on=utc_today())
        other = make_user(email="lapsed@example.org")
        ended_yesterday = make_application(other)
        declare_current_membership(ended_yesterday, expires_on=utc_today() - timedelta(days=1))
    assert os.environ["TZ"] == server_zone

    member = Browser(app.test_client())
    member.login("member@example.org")
    page = member.get(f"/applications/{ending_today.id}").get_data(as_text=True)
    assert ">Declared<" in page and ">Expired<" not in page

    lapsed = Browser(app.test_client())
    lapsed.login("lapsed@example.org")
    assert ">Expired<" in lapsed.get(f"/applications/{ended_yesterday.id}").get_data(as_text=True)
