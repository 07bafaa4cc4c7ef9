"""The public registry: search by name, credential, category and city; privacy (an endorsee who is not
listed is absent from search and export, and their verification page says only valid or not, with the
period); hostile input is a message, never a 500; a page costs the same statements at any size."""

from __future__ import annotations

import html
import json
import re
import urllib.parse

import pytest
import sqlalchemy as sa

from refportal.accounts.models import User
from refportal.applications.categories import Credential, MentorTrack
from refportal.endorsements.forms import MAX_PAGE
from refportal.endorsements.lifecycle import Event, transition
from refportal.endorsements.models import Endorsement
from refportal.extensions import db
from refportal.security.sessions import SESSIONLESS_BLUEPRINTS
from tests.endorsements.helpers import endorse, set_listing
from tests.reviews.helpers import statements_for


@pytest.fixture
def people(app):
    """Four endorsees: two listed (one showing her city), one who opted out, one whose endorsement lapsed."""
    numbers = {
        "ana": endorse(app, name="Ana Alvarez", category=2),
        "ben": endorse(
            app, name="Ben Brooks", credential=Credential.ECMH_E, category=4, mentor_track=MentorTrack.CLINICAL
        ),
        "olga": endorse(app, name="Olga Optout", category=3),
        "lars": endorse(app, name="Lars Lapsed", category=1),
    }
    set_listing(app, numbers["ana"], listed=True, show_city=True, city="Grand Rapids")
    set_listing(app, numbers["ben"], listed=True, show_city=False, city="Hidden Hollow")
    set_listing(app, numbers["olga"], listed=False, show_city=True, city="Secret City")
    with app.app_context():
        lapsed = db.session.scalars(sa.select(Endorsement).where(Endorsement.number == numbers["lars"])).one()
        for event in (Event.OPEN_RENEWAL, Event.END_PERIOD, Event.END_GRACE):
            transition(lapsed, event)
        db.session.commit()
    return numbers


def text(response) -> str:
    return response.get_data(as_text=True)


def test_the_registry_lists_only_listed_endorsements_in_force(client, people):
    page = text(client.get("/registry/"))
    assert "Ana Alvarez" in page and "Ben Brooks" in page
    assert "Olga Optout" not in page and people["olga"] not in page  # opted out
    assert "Lars Lapsed" not in page  # lapsed: out of the registry
    assert "Infant Family Specialist" in page and "Early Childhood Mental Health Mentor – Clinical" in page
    assert "Grand Rapids" in page and "Hidden Hollow" not in page  # a city shows only where chosen


def names_found(client, query: str) -> list[str]:
    """The names of the search's first page, in order."""
    page = text(client.get("/registry/?name=" + query))
    return [html.unescape(name) for name in re.findall(r"<tr>\s*<td>([^<]*)</td>", page)]


def test_a_name_is_found_by_the_start_of_any_of_its_words(app, client, people):
    for query in ("ana", "Ana Alvarez", "alvarez", "ALV", "ana+alv", "  ana   alvarez "):
        assert names_found(client, query) == ["Ana Alvarez"], query
    assert names_found(client, "lvarez") == []  # the middle of a word: not a match
    assert names_found(client, "alvarez+ana") == []  # the words in the name's order
    endorse(app, name="Mary Smith-Jones")
    endorse(app, name="Jürgen Straße")
    assert names_found(client, "jones") == names_found(client, "smith jones") == ["Mary Smith-Jones"]
    assert names_found(client, "smith-jo") == ["Mary Smith-Jones"]
    assert names_found(client, "STRASSE") == names_found(client, "straße") == ["Jürgen Straße"]


def test_a_search_by_name_finds_only_listed_endorsements_in_force(app, client, people):
    """Every endorsement has its holder's name tails, listed or not: the search still lists only the entries
    the registry shows, with any credential or category."""
    for query in ("olga", "optout", "olga&category=3", "lars", "lapsed&category=1", "lars&credential=imh-e"):
        assert names_found(client, query) == [], query
    assert names_found(client, "ana&category=2&credential=imh-e") == ["Ana Alvarez"]
    with app.app_context():
        from refportal.db import utcnow

        db.session.scalars(sa.select(User).where(User.name == "Ana Alvarez")).one().deactivated_at = utcnow()
        db.session.commit()
    assert names_found(client, "ana") == names_found(client, "alvarez&category=2") == []


def test_a_search_by_name_lists_by_the_matched_words_then_the_name_each_holder_once(app, client, people):
    for name in ("Zoe Okafor", "Ada Okafor", "Okafor Bello", "Ada Ada", "Bea Okafo"):
        endorse(app, name=name)
    # "okafo" begins "okafo" (Bea), "okafor" (Ada, Zoe) and "okafor bello": by those words, then by name.
    assert names_found(client, "okafo") == ["Bea Okafo", "Ada Okafor", "Zoe Okafor", "Okafor Bello"]
    assert names_found(client, "ada") == ["Ada Ada", "Ada Okafor"]  # Ada Ada once
    assert names_found(client, "ada+ada") == ["Ada Ada"]


def test_a_renamed_holder_is_found_by_the_new_name_only(app, client, people):
    with app.app_context():
        holder = db.session.scalars(
            sa.select(User)
            .join(Endorsement, Endorsement.holder_id == User.id)
            .where(Endorsement.number == people["ana"])
        ).one()
        holder.name = "Ana Bautista"
        db.session.commit()
    assert names_found(client, "alvarez") == []
    assert names_found(client, "bautista") == names_found(client, "ana") == ["Ana Bautista"]


def test_search_by_name_credential_category_and_city(client, people):
    assert "Ana Alvarez" in text(client.get("/registry/?name=alv"))
    assert "Ben Brooks" not in text(client.get("/registry/?name=alv"))
    by_credential = text(client.get("/registry/?credential=ecmh-e"))
    assert "Ben Brooks" in by_credential and "Ana Alvarez" not in by_credential
    by_category = text(client.get("/registry/?category=2"))
    assert "Ana Alvarez" in by_category and "Ben Brooks" not in by_category
    assert "Ana Alvarez" in text(client.get("/registry/?place=grand"))
    assert "Ben Brooks" not in text(client.get("/registry/?place=hollow"))  # a hidden city is not searchable
    assert "Olga Optout" not in text(client.get("/registry/?place=secret&name=olga"))


def test_wildcards_in_the_search_are_literal(app, client, people):
    endorse(app, name="Pat 100% Percent")
    assert names_found(client, "%25") == [] and names_found(client, "_") == []
    assert names_found(client, "100%25") == ["Pat 100% Percent"]
    assert "No listed endorsement matches" in text(client.get("/registry/?name=_n_"))


@pytest.mark.parametrize(
    "query",
    [
        "name=" + "x" * 500,
        "name=a%00b",
        "credential=nope",
        "category=9",
        "page=0",
        "page=99999999999999999999",
        "place=a%0d%0aX-Injected:1",
    ],
)
def test_hostile_searches_get_a_message(client, people, query):
    response = client.get("/registry/?" + query)
    assert response.status_code == 400
    assert "Correct the search above" in text(response)
    assert "Ana Alvarez" not in text(response)


@pytest.mark.parametrize(
    "name", ["O'Brien", "o'brien'); DROP TABLE user_account; --", "back\\slash", "100%", "%(name)s", "?"]
)
def test_quotes_percent_signs_and_backslashes_in_a_searched_name_are_text(app, client, people, name):
    """The searched words are written into the statement's SQL (registry._literal): whatever they hold is
    quoted as text."""
    endorse(app, name=f"Pat {name}")
    assert names_found(client, urllib.parse.quote(name)) == [f"Pat {name}"]
    assert names_found(client, "ana") == ["Ana Alvarez"]  # the tables are whole


def test_markup_in_a_search_is_shown_as_text(client, people):
    page = text(client.get("/registry/?name=%3Cscript%3Ealert(1)%3C/script%3E"))
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


def test_a_listed_endorsement_is_verified_with_its_entry(client, people):
    response = client.get(f"/registry/{people['ana']}")
    page = text(response)
    assert response.status_code == 200 and "Valid today" in page
    assert "Ana Alvarez" in page and "Infant Family Specialist" in page and "Grand Rapids" in page
    assert "X-Robots-Tag" not in response.headers  # a listed entry may be indexed


def test_an_unlisted_endorsement_is_verified_with_its_period_only(app, client, people):
    response = client.get(f"/registry/{people['olga'].lower()}")  # typed in lower case: the same number
    page = text(response)
    assert response.status_code == 200 and "Valid today" in page and "Period:" in page
    assert "Olga" not in page and "Secret City" not in page and "Mental Health Specialist" not in page
    assert response.headers["X-Robots-Tag"] == "noindex"


def test_a_lapsed_endorsement_is_not_valid_and_shows_nothing_else(client, people):
    response = client.get(f"/registry/{people['lars']}")
    page = text(response)
    assert "Not valid today" in page and "Lars" not in page
    assert response.headers["X-Robots-Tag"] == "noindex"


@pytest.mark.parametrize("number", ["IMH-00000000", "IMH-7K3QX9P", "1", "..%00passwd", "<b>x<b>", "é" * 50])
def test_an_unknown_or_malformed_number_is_a_plain_not_found(client, people, number):
    response = client.get("/registry/" + number)
    assert response.status_code == 404
    assert "There is no endorsement with the number" in text(response)
    assert response.headers["X-Robots-Tag"] == "noindex"
    assert "<b>x<b>" not in text(response)


def test_the_export_holds_the_listed_entries_only(client, people):
    data = json.loads(client.get("/registry/export.json").get_data())
    assert [e["name"] for e in data["entries"]] == ["Ana Alvarez", "Ben Brooks"]
    assert set(data["entries"][0]) == {
        "number",
        "name",
        "credential",
        "category",
        "category_name",
        "status",
        "valid_until",
        "city",
    }
    assert data["entries"][1]["city"] is None
    csv_text = text(client.get("/registry/export.csv"))
    lines = csv_text.strip().splitlines()
    assert lines[0] == "number,name,credential,category,category_name,status,valid_until,city"
    assert len(lines) == 3 and "Olga" not in csv_text and "Lars" not in csv_text and "Secret" not in csv_text


def test_a_formula_in_a_name_is_defused_in_the_csv(app, client):
    endorse(app, name="=HYPERLINK(1)")
    assert "'=HYPERLINK(1)" in text(client.get("/registry/export.csv"))


def test_the_default_decides_for_those_who_have_not_chosen(make_app):
    app = make_app(REGISTRY_LISTED_BY_DEFAULT=False)
    quiet = endorse(app, name="Quinn Quiet")
    chosen = endorse(app, name="Cora Chosen")
    set_listing(app, chosen, listed=True)
    client = app.test_client()
    page = text(client.get("/registry/"))
    assert "Cora Chosen" in page and "Quinn Quiet" not in page
    assert "Quinn" not in text(client.get(f"/registry/{quiet}"))


def test_a_deactivated_account_leaves_the_registry(app, client, people):
    with app.app_context():
        from refportal.db import utcnow

        user = db.session.scalars(sa.select(User).where(User.name == "Ana Alvarez")).one()
        user.deactivated_at = utcnow()
        db.session.commit()
    assert "Ana Alvarez" not in text(client.get("/registry/"))
    assert "Ana Alvarez" not in text(client.get(f"/registry/{people['ana']}"))


def test_pages_of_the_registry(make_app):
    app = make_app(REGISTRY_PAGE_SIZE=2)
    for n in range(5):
        endorse(app, name=f"Paged {n}")
    client = app.test_client()
    first, third = text(client.get("/registry/?name=paged")), text(client.get("/registry/?name=paged&page=3"))
    assert "Paged 0" in first and "Paged 1" in first and "Paged 2" not in first and "Next page" in first
    assert "Paged 4" in third and "Next page" not in third and "Previous page" in third
    assert "name=paged" in first.split("Next page")[0].rsplit("href=", 1)[1]  # the search is kept


def test_a_search_goes_forty_pages_deep(make_app):
    """A page deeper than MAX_PAGE would read every entry before it: the last one says so instead of
    linking further, and a deeper one is refused with the reason."""
    app = make_app(REGISTRY_PAGE_SIZE=1)
    endorse(app, name="Paged Holder")  # an account whose password hash the bulk ones share
    add_endorsements(app, 2 * MAX_PAGE + 4)  # MAX_PAGE + 2 listed
    client = app.test_client()
    last = text(client.get(f"/registry/?name=bulk&page={MAX_PAGE}"))
    assert "Previous page" in last and "Next page" not in last
    assert f"The registry shows a search's first {MAX_PAGE} pages" in html.unescape(last)
    before = text(client.get(f"/registry/?name=bulk&page={MAX_PAGE - 1}"))
    assert "Next page" in before and "first 40 pages" not in before
    deeper = client.get(f"/registry/?name=bulk&page={MAX_PAGE + 1}")
    assert deeper.status_code == 400
    assert f"A search's pages go from 1 to {MAX_PAGE}: narrow the search." in html.unescape(text(deeper))


def add_endorsements(app, count: int, start: int = 0) -> None:
    """`count` endorsed holders straight into the tables (half listed by default, half opted out)."""
    from datetime import date

    from refportal.endorsements.models import RegistryListing

    with app.app_context():
        password_hash = db.session.scalar(sa.select(User.password_hash).limit(1))
        for n in range(start, start + count):
            user = User(email=f"bulk{n}@example.org", name=f"Bulk {n}", password_hash=password_hash)
            db.session.add(user)
            db.session.flush()
            db.session.add(
                Endorsement(
                    number=f"IMH-B{n:07d}",
                    holder_id=user.id,
                    credential=Credential.IMH_E,
                    category=1 + n % 4,
                    issued_on=date(2026, 1, 1),
                    period_starts_on=date(2026, 1, 1),
                    period_ends_on=date(2027, 1, 1),
                )
            )
            if n % 2:
                db.session.add(RegistryListing(holder_id=user.id, listed=False))
        db.session.commit()


def test_registry_statements_do_not_grow_with_the_registry(app, people):
    client = app.test_client()
    urls = (
        "/registry/",
        "/registry/?name=bulk&category=2&page=2",
        f"/registry/{people['ana']}",
        "/registry/export.json",
    )
    add_endorsements(app, 10)
    small = [statements_for(app, client, url) for url in urls]
    add_endorsements(app, 190, start=10)
    large = [statements_for(app, client, url) for url in urls]
    assert small == large
    assert small == [1, 1, 1, 2]  # a page with the registry's date in one; the export and its date in two


def test_the_registry_is_sessionless():
    assert "registry" in SESSIONLESS_BLUEPRINTS
