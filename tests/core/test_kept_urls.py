"""The URLs a page draws from a table kept per app and script root (refportal.web.KeptUrls): the
templates' fixed links (fixed_url) and a list's per-row links to one id (id_url) are url_for's very
URLs."""

from __future__ import annotations

import pytest
from flask import current_app, url_for

from refportal.db import MAX_ID


def fixed_url(endpoint, **values):
    return current_app.jinja_env.globals["fixed_url"](endpoint, **values)


def id_url(endpoint, **value):
    return current_app.jinja_env.globals["id_url"](endpoint, **value)


ROOTS = ("http://localhost/", "http://localhost/portal/")


@pytest.mark.parametrize("base_url", ROOTS)
def test_a_layouts_fixed_links_are_url_fors(app, base_url):
    with app.test_request_context("/", base_url=base_url):
        for _ in range(2):  # built, then kept
            assert fixed_url("accounts.login") == url_for("accounts.login")
            assert fixed_url("static", filename="portal.css") == url_for("static", filename="portal.css")
            assert fixed_url("static", filename="print.js") == url_for("static", filename="print.js")


@pytest.mark.parametrize("base_url", ROOTS)
@pytest.mark.parametrize("number", [0, 1, 7, 1234567, MAX_ID])
def test_a_rows_link_to_an_id_is_url_fors(app, base_url, number):
    with app.test_request_context("/", base_url=base_url):
        for _ in range(2):
            assert id_url("reviews.application_file", application_id=number) == url_for(
                "reviews.application_file", application_id=number
            )
            assert id_url("rounds.show", round_id=number) == url_for("rounds.show", round_id=number)


def test_a_root_other_than_the_kept_one_is_built_again(app):
    with app.test_request_context("/"):
        assert id_url("rounds.show", round_id=5) == "/review/rounds/5"
        assert fixed_url("accounts.login") == "/login"
    with app.test_request_context("/", base_url="http://localhost/portal/"):
        assert id_url("rounds.show", round_id=5) == "/portal/review/rounds/5"
        assert fixed_url("accounts.login") == "/portal/login"
    with app.test_request_context("/"):
        assert id_url("rounds.show", round_id=5) == "/review/rounds/5"


@pytest.mark.parametrize("value", ["7", True, 7.0])
def test_anything_but_a_database_id_is_left_to_url_for(app, value):
    with app.test_request_context("/"):
        assert id_url("rounds.show", round_id=value) == url_for("rounds.show", round_id=value)
