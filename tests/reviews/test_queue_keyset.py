"""The queue paged by keyset: Next and Previous carry the sort key of the page's last or first row, so
walking every page forward and back shows each matching application once, in order, in every order
and with every filter (ties included); a damaged or hostile cursor shows the first page and says so; a
bookmarked page number still works; and a deep page runs the statements the first page does."""

from __future__ import annotations

import base64
import html
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from refportal.accounts.models import Role, User
from refportal.applications.categories import Credential
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application
from refportal.extensions import db
from refportal.reviews.queue_query import SORTS, Cursor
from tests.builders import logged_in
from tests.factories import make_user
from tests.reviews.helpers import add_applications, statements_for

PER_PAGE = 4
T1 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
T2 = datetime(2026, 5, 2, 14, 0, 0, 250000, tzinfo=UTC)
T3 = datetime(2026, 6, 7, 8, 0, tzinfo=UTC)

# (name, submitted, created, status, category): ties on every key; "Bo" twice the same person (below).
SPEC = [
    ("Ada", T1, T1, "submitted", 1),
    ("Ada", T1, T1, "submitted", 2),
    ("Bo", T2, T1, "submitted", 2),
    ("Bo", None, T2, "draft", 2),
    ("Bo", T1, T2, "endorsed", 3),
    ("Cy", None, T2, "draft", 1),
    ("Cy", T3, T2, "submitted", 2),
    ("Dee", T2, T3, "submitted", 4),
    ("Dee", None, T1, "draft", 2),
    ("Eve", T1, T3, "more_info_requested", 2),
    ("Eve", T2, T3, "submitted", 2),
    ("Fay", None, T3, "draft", 2),
    ("Gus", T3, T1, "submitted", 1),
    ("Gus", T1, T1, "submitted", 2),
    ("Hal", None, T1, "draft", 2),
    ("Ida", T2, T2, "submitted", 2),
    ("Ida", T2, T2, "denied", 2),
    ("Jo", T3, T3, "submitted", 3),
]
SAME_PERSON = {2, 3, 4}  # the three "Bo" applications are one applicant's


@pytest.fixture
def queue(app):
    """The applications of SPEC (as rows: id, name, applicant id, submitted, created, status, category) and
    a reviewer; the queue shows PER_PAGE a page."""
    app.config["QUEUE_PAGE_SIZE"] = PER_PAGE
    with app.app_context():
        make_user(email="rev@example.org", role=Role.REVIEWER)
        password_hash = db.session.scalar(sa.select(User.password_hash).limit(1))
        people = {}
        rows = []
        for n, (name, submitted, created, status, category) in enumerate(SPEC):
            key = "bo" if n in SAME_PERSON else n
            if key not in people:
                people[key] = User(email=f"p{n}@example.org", name=name, password_hash=password_hash)
            application = Application(
                applicant=people[key],
                credential=Credential.IMH_E,
                category=category,
                status=ApplicationStatus(status),
                submitted_at=submitted,
                created_at=created,
            )
            db.session.add(application)
            db.session.flush()
            rows.append((application.id, name, application.applicant_id, submitted, created, status, category))
        db.session.commit()
    return rows


def expected(rows, sort: str, keep) -> list[int]:
    """The order each sort promises, written out in Python: a file never submitted last in both orders by
    submission, the id deciding ties (within one applicant's name, the applicant's id first)."""
    chosen = [r for r in rows if keep(r)]
    never = datetime.max.replace(tzinfo=UTC)
    keys = {
        "submitted": lambda r: (r[3] is None, -(r[3] or T1).timestamp(), -r[0]),
        "oldest": lambda r: (r[3] or never, r[0]),
        "created": lambda r: (-r[4].timestamp(), -r[0]),
        "name": lambda r: (r[1], r[2], r[0]),
    }
    return [r[0] for r in sorted(chosen, key=keys[sort])]


FILTERS = {
    "": lambda r: True,
    "status=submitted": lambda r: r[5] == "submitted",
    "status=draft": lambda r: r[5] == "draft",
    "q=bo": lambda r: r[1] == "Bo",
    "category=2": lambda r: r[6] == 2,
}


def ids(body: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/review/applications/(\d+)"', body)]


def link(body: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', body)
    return html.unescape(found.group(1)) if found else None


def page_label(body: str) -> str | None:
    found = re.search(r'<nav class="pagination"[^>]*>.*?(?:<span>(Page [^<]+)</span>|</nav>)', body, re.S)
    return found.group(1) if found else None


@pytest.mark.parametrize("sort", list(SORTS))
@pytest.mark.parametrize("query", list(FILTERS))
def test_walking_every_page_forward_and_back_shows_each_application_once_in_order(app, queue, sort, query):
    browser = logged_in(app, "rev@example.org")
    want = expected(queue, sort, FILTERS[query])
    url = f"/review/?sort={sort}" + (f"&{query}" if query else "")
    forward = []
    while url:
        body = browser.get(url).get_data(as_text=True)
        assert "damaged or out of date" not in body
        forward.append(ids(body))
        assert page_label(body) in (None, f"Page {len(forward)}", f"Page {len(forward)} of {-(-len(want) // PER_PAGE)}")
        assert len(forward) <= 10, "the links go round in circles"
        url = link(body, "next")
    assert [n for page in forward for n in page] == want
    assert all(len(page) == PER_PAGE for page in forward[:-1])
    backward = [forward[-1]]
    url = link(body, "prev")
    while url:
        body = browser.get(url).get_data(as_text=True)
        backward.append(ids(body))
        assert len(backward) <= 10
        url = link(body, "prev")
    assert backward[::-1] == forward


def test_the_links_carry_the_page_number_and_a_cursor_and_keep_the_filters(app, queue):
    body = logged_in(app, "rev@example.org").get("/review/?sort=name&status=submitted").get_data(as_text=True)
    href = link(body, "next")
    assert href.startswith("/review/?page=2&after=") and "sort=name" in href and "status=submitted" in href
    after = re.search(r"after=([A-Za-z0-9_-]+)", href).group(1)
    last = ids(body)[-1]
    name, applicant = next((r[1], r[2]) for r in queue if r[0] == last)
    assert Cursor.decode(after, "name") == Cursor("name", (name, applicant, last))


def test_a_bookmarked_page_number_still_shows_that_page(app, queue):
    """A page number alone (an old bookmark) is read with OFFSET; that page's links carry cursors again."""
    browser = logged_in(app, "rev@example.org")
    want = expected(queue, "name", lambda r: True)
    body = browser.get("/review/?sort=name&page=3").get_data(as_text=True)
    assert ids(body) == want[2 * PER_PAGE : 3 * PER_PAGE]
    assert "Page 3 of 5" in body
    assert ids(browser.get(link(body, "next")).get_data(as_text=True)) == want[3 * PER_PAGE : 4 * PER_PAGE]
    assert ids(browser.get(link(body, "prev")).get_data(as_text=True)) == want[PER_PAGE : 2 * PER_PAGE]
    assert "before=" in link(body, "prev") and "after=" in link(body, "next")


def test_previous_from_the_second_page_is_the_first_page(app, queue):
    browser = logged_in(app, "rev@example.org")
    second = browser.get(link(browser.get("/review/").get_data(as_text=True), "next")).get_data(as_text=True)
    assert link(second, "prev") == "/review/?page=1"


def test_a_cursor_alone_shows_its_page_without_a_number(app, queue):
    browser = logged_in(app, "rev@example.org")
    want = expected(queue, "created", lambda r: True)
    row = next(r for r in queue if r[0] == want[PER_PAGE - 1])
    after = Cursor("created", (row[4], row[0])).encode()
    body = browser.get(f"/review/?sort=created&after={after}").get_data(as_text=True)
    assert ids(body) == want[PER_PAGE : 2 * PER_PAGE]
    assert "18 applications." in body and page_label(body) is None
    assert link(body, "next").startswith("/review/?after=")


def test_the_cursor_of_the_longest_name_fits_in_a_link():
    name = "🦋" * 120  # four bytes each in UTF-8
    cursor = Cursor("name", (name, 2**31 - 1, 2**31 - 1))
    assert len(cursor.encode()) <= 1024 and Cursor.decode(cursor.encode(), "name") == cursor
    assert Cursor.decode(Cursor("name", (name + "x", 1, 1)).encode(), "name") is None  # longer than a name


def _encoded(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


HOSTILE = {
    "empty": "",
    "not base64": "!!!",
    "base64 of bytes": base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
    "not json": _encoded("x")[:-2] + "AA",
    "a number": _encoded(5),
    "an object": _encoded({"sort": "name"}),
    "another order": _encoded(["submitted", "2026-03-01T09:30:00.000000+00:00", 3]),
    "an unknown order": _encoded(["price", 1, 2]),
    "too short": _encoded(["name", "Ada", 1]),
    "too long": _encoded(["name", "Ada", 1, 2, 3]),
    "id as text": _encoded(["name", "Ada", "1", 2]),
    "id as a float": _encoded(["name", "Ada", 1.5, 2]),
    "id as a boolean": _encoded(["name", "Ada", True, 2]),
    "id zero": _encoded(["name", "Ada", 0, 2]),
    "negative id": _encoded(["name", "Ada", -1, 2]),
    "huge id": _encoded(["name", "Ada", 10**30, 2]),
    "name as a list": _encoded(["name", ["Ada"], 1, 2]),
    "NUL in the name": _encoded(["name", "A\x00da", 1, 2]),
    "lone surrogate": base64.urlsafe_b64encode(b'["name","\\ud800",1,2]').decode().rstrip("="),
    "long name": _encoded(["name", "A" * 5000, 1, 2]),
    "nested": base64.urlsafe_b64encode(b"[" * 600 + b"]" * 600).decode().rstrip("="),
    "over the length limit": "A" * 5000,
    "null key": _encoded(["name", None, 1, 2]),
}
HOSTILE_MOMENTS = {
    "a day without a time": _encoded(["created", "2026-03-01", 3]),
    "a moment without a zone": _encoded(["created", "2026-03-01T09:30:00", 3]),
    "another zone": _encoded(["created", "2026-03-01T09:30:00+02:00", 3]),
    "not a moment": _encoded(["created", "yesterday", 3]),
    "year 0": _encoded(["created", "0000-03-01T09:30:00+00:00", 3]),
    "a moment as a number": _encoded(["created", 1700000000, 3]),
}


@pytest.mark.parametrize("direction", ["after", "before"])
@pytest.mark.parametrize(
    "sort, cursor",
    [("name", value) for value in HOSTILE.values()] + [("created", value) for value in HOSTILE_MOMENTS.values()],
    ids=list(HOSTILE) + list(HOSTILE_MOMENTS),
)
def test_a_damaged_or_hostile_cursor_shows_the_first_page_and_says_so(app, queue, direction, sort, cursor):
    browser = logged_in(app, "rev@example.org")
    first = browser.get(f"/review/?sort={sort}").get_data(as_text=True)
    response = browser.get(f"/review/?sort={sort}&page=7&{direction}={cursor}")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The link to that page was damaged or out of date: this is the first page." in body
    assert ids(body) == ids(first) and 'rel="prev"' not in body and "page 1 of 5" in body


def test_both_cursors_at_once_show_the_first_page(app, queue):
    browser = logged_in(app, "rev@example.org")
    good = Cursor("submitted", (T1, 1)).encode()
    body = browser.get(f"/review/?after={good}&before={good}").get_data(as_text=True)
    assert "damaged or out of date" in body and ids(body) == ids(browser.get("/review/").get_data(as_text=True))


def test_a_cursor_past_the_last_row_shows_an_empty_page_with_a_way_back(app, queue):
    browser = logged_in(app, "rev@example.org")
    after = Cursor("name", ("Zz", 10**6, 10**6)).encode()
    body = browser.get(f"/review/?sort=name&page=9&after={after}").get_data(as_text=True)
    assert ids(body) == [] and "No application matches." in body
    assert link(body, "prev") == "/review/?page=1&sort=name" and link(body, "next") is None


def test_the_statements_of_a_deep_page_are_those_of_the_first_at_any_size(app, queue):
    """The first page, a page after a row and a page before a row: 5 drafts by name, then 305 and a page
    about 30 pages in."""
    browser = logged_in(app, "rev@example.org")
    first = "/review/?status=draft&sort=name"

    def measured(deep: str) -> list[int]:
        urls = [first, deep, deep.replace("after=", "before=")]
        return [statements_for(app, browser, url) for url in urls]

    small = measured(link(browser.get(first).get_data(as_text=True), "next"))
    add_applications(app, 300)  # drafts of "Bulk n": the draft pages by name go deeper
    deep = first
    for _ in range(31):
        deep = link(browser.get(deep).get_data(as_text=True), "next")
    assert "page=32&after=" in deep
    assert small == measured(deep), small


def test_the_count_is_exact_to_the_limit_then_more_than(app, queue):
    app.config["QUEUE_COUNT_LIMIT"] = 10
    browser = logged_in(app, "rev@example.org")
    assert "More than 10 applications, page 1." in browser.get("/review/").get_data(as_text=True)
    assert "10 applications, page 1 of 3." in browser.get("/review/?status=submitted&sort=oldest").get_data(
        as_text=True
    )


def test_the_export_follows_the_sort_and_the_filters_and_is_sent_as_written(app, queue):
    response = logged_in(app, "rev@example.org").get("/review/export.csv?sort=oldest&status=submitted")
    assert response.is_streamed and response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).splitlines()
    want = expected(queue, "oldest", FILTERS["status=submitted"])
    assert [int(line.split(",")[0]) for line in lines[1:]] == want


def test_an_export_with_a_row_of_every_kind(app, queue):
    """Drafts (no submission date), the names and the counts as the page shows them."""
    response = logged_in(app, "rev@example.org").get("/review/export.csv?sort=name&q=bo")
    text = response.get_data(as_text=True)
    header, *rows = text.split("\r\n")[:-1]
    assert header.startswith("application_id,applicant,email,credential")
    assert [row.split(",")[1] for row in rows] == ["Bo", "Bo", "Bo"]
    submitted = sorted(row.split(",")[6] for row in rows)
    assert submitted == ["", "2026-03-01T09:30:00+00:00", "2026-05-02T14:00:00.250000+00:00"]


def test_sort_keys_of_a_file_never_submitted_are_the_stand_ins(app, queue):
    """A draft's key in the orders by submission is EARLIEST (newest first) or LATEST (oldest first):
    so its cursor compares, and round-trips, like any other."""
    from refportal.reviews.queue_query import EARLIEST, LATEST

    with app.app_context():
        submitted = SORTS["submitted"].keys[0]
        oldest = SORTS["oldest"].keys[0]
        draft_id = next(r[0] for r in queue if r[3] is None)
        found = db.session.execute(sa.select(submitted, oldest).where(Application.id == draft_id)).one()
    assert tuple(found) == (EARLIEST, LATEST)
    for moment in (EARLIEST, LATEST):
        assert Cursor.decode(Cursor("oldest", (moment, 3)).encode(), "oldest") == Cursor("oldest", (moment, 3))
    assert datetime.fromisoformat(EARLIEST.isoformat()) - EARLIEST == timedelta(0)


def test_a_cursor_after_the_longest_name_of_astral_characters_is_accepted():
    """A name of 120 emoji (each escaped as a surrogate pair in the cursor's JSON) still leads to the next page."""
    name = "\U0001f600" * 120
    cursor = Cursor("name", (name, 2**31 - 1, 2**31 - 1))
    assert Cursor.decode(cursor.encode(), "name") == cursor
