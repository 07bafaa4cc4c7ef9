"""The registry's pages are built for anonymous traffic: no session read or written (no cookie, no
Vary: Cookie, even for a signed-in visitor), cacheable (Cache-Control: public, ETag, Last-Modified, 304
for a current copy), and rate limited per address."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.http import http_date

from refportal.endorsements.models import RegistryListing
from refportal.extensions import db, limiter
from tests.endorsements.helpers import endorse, set_listing
from tests.web import Browser


@pytest.fixture
def number(app):
    listed = endorse(app, name="Ana Alvarez", email="ana@example.org")
    return listed


def public_urls(number: str) -> list[str]:
    return ["/registry/", "/registry/?name=ana", f"/registry/{number}", "/registry/export.csv", "/registry/export.json"]


def test_public_pages_set_no_cookie_and_do_not_vary_on_it(app, number):
    anonymous = app.test_client()
    signed_in = Browser(app.test_client())
    signed_in.login("ana@example.org")
    for client in (anonymous, signed_in.client):
        for url in [*public_urls(number), "/registry/IMH-00000000", "/registry/?page=0"]:
            response = client.get(url)
            assert "Set-Cookie" not in response.headers, url
            assert "Cookie" not in response.headers.get("Vary", ""), url  # the session was not even read
    assert "Log out" not in signed_in.get("/registry/").get_data(as_text=True)


def test_public_pages_are_cacheable_and_answer_304(app, number):
    client = app.test_client()
    for url in public_urls(number):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "public, max-age=300", url
        etag, last_modified = response.headers["ETag"], response.headers["Last-Modified"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.get_data() == b"", url
        assert client.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304, url


def test_a_change_to_the_listing_changes_the_validators(app, number):
    client = app.test_client()
    before = client.get("/registry/")
    set_listing(app, number, listed=False)
    after = client.get("/registry/", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and "Ana Alvarez" not in after.get_data(as_text=True)
    assert after.headers["ETag"] != before.headers["ETag"]
    assert after.last_modified >= before.last_modified
    page = client.get(f"/registry/{number}")
    with app.app_context():
        changed_at = db.session.scalar(sa.select(RegistryListing.updated_at))
    assert page.last_modified == changed_at.replace(microsecond=0)  # the listing's change dates the page
    a_second_earlier = http_date(page.last_modified - timedelta(seconds=1))
    assert client.get(f"/registry/{number}", headers={"If-Modified-Since": a_second_earlier}).status_code == 200


def test_refused_and_unknown_pages_are_not_cached(app, number):
    client = app.test_client()
    for url in ("/registry/IMH-00000000", "/registry/?category=x"):
        response = client.get(url)
        assert response.status_code in (400, 404)
        assert response.headers["Cache-Control"] == "no-cache" and "ETag" not in response.headers


def test_only_listed_entries_may_be_indexed(app, number):
    client = app.test_client()
    assert "X-Robots-Tag" not in client.get("/registry/").headers
    assert "X-Robots-Tag" not in client.get(f"/registry/{number}").headers
    set_listing(app, number, listed=False)
    assert client.get(f"/registry/{number}").headers["X-Robots-Tag"] == "noindex"
    assert client.get("/registry/export.json").headers["X-Robots-Tag"] == "noindex"


@pytest.fixture
def limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True, REGISTRY_RATE_LIMIT="5 per minute")
    yield app
    limiter.reset()


def test_the_registry_is_rate_limited_per_address(limited):
    client = limited.test_client()
    statuses = [client.get(f"/registry/IMH-{n:08d}").status_code for n in range(6)]
    assert statuses == [404] * 5 + [429]  # guessing numbers runs into the limit
    assert client.get("/registry/").status_code == 429
    other = limited.test_client()
    assert other.get("/registry/", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
