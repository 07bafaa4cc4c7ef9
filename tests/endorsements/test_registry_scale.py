"""The public registry at scale, on PostgreSQL (skipped on SQLite): with 20,000 endorsements written in
bulk and analysed, the search by name reads one range of the name tails' index of its filters in the order
of its results and stops once its page is full (the same pages of the tables with twice the holders, with
20,000 more matching holders of another category, or 20,000 more matching accounts that hold no
endorsement), the search by place reads the trigram index of lower(city), the
unfiltered pages walk the name index (no Seq Scan of endorsement or user_account, no sort but of the
page's own rows), and each page runs one statement, as in a registry of twenty."""

from __future__ import annotations

import re

import psycopg.sql
import pytest
import sqlalchemy as sa

from refportal.applications.categories import Credential
from refportal.endorsements import registry
from refportal.endorsements.forms import MAX_PAGE
from refportal.endorsements.models import RegistryNameTail, name_tail_rows
from refportal.extensions import db
from tests.reviews.helpers import statements_for

LARGE = 20_000

FIRST = "ARRAY['Amara','Ben','Carmen','Dana','Elif','Farah','Grace','Hana']"
LAST = "ARRAY['Okafor','Silva','Nguyen','Kowalski','Haddad','Moreau','Tanaka','Ibrahim','Larsen','Rossi']"


MIXED_NAMES = f"({FIRST})[1 + g % 8] || ' ' || ({LAST})[1 + (g / 8) % 10] || ' ' || g"


def add_holders(app, start: int, stop: int, *, name: str = MIXED_NAMES, category: str = "1 + g % 4") -> None:
    """Endorsees `start`..`stop` in INSERT ... SELECT statements (ids from 1,000,000: clear of any
    fixture's; `name` and `category` SQL of g), then VACUUM ANALYZE (the trigram indexes' pending entries
    merged, statistics current): an active endorsement (one in seven lapsed), a third opted out, half of
    the others showing a city."""
    params = {"start": 1_000_000 + start, "stop": 1_000_000 + stop}
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO user_account (id, email, name, password_hash, role, created_at, session_version) "
                    f"SELECT g, 'holder' || g || '@example.org', {name}, "
                    "'not a hash', 'applicant', now(), 1 FROM generate_series(:start, :stop - 1) g"
                ),
                params,
            )
            conn.execute(
                sa.text(
                    "INSERT INTO endorsement (id, number, holder_id, credential, category, issued_on, "
                    "period_starts_on, period_ends_on, status, status_changed_at, created_at, updated_at) "
                    "SELECT g, 'IMH-' || lpad(g::text, 8, '0'), g, "
                    f"CASE WHEN g % 2 = 1 THEN 'imh-e' ELSE 'ecmh-e' END, {category}, "
                    "current_date, current_date, current_date + 365, "
                    "CASE WHEN g % 7 = 0 THEN 'lapsed' ELSE 'active' END, now(), now(), now() "
                    "FROM generate_series(:start, :stop - 1) g"
                ),
                params,
            )
            conn.execute(
                sa.text(
                    "INSERT INTO registry_listing (holder_id, listed, show_city, city, updated_at) "
                    "SELECT g, g % 3 <> 0, g % 2 = 0, 'City ' || (g % 50), now() "
                    "FROM generate_series(:start, :stop - 1) g"
                ),
                params,
            )
            add_name_tails(conn, params["start"], params["stop"])
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("user_account", "registry_name_tail", "endorsement", "registry_listing"):
                conn.exec_driver_sql(f"VACUUM ANALYZE {table}")


def add_name_tails(conn: sa.Connection, start: int, stop: int) -> None:
    """The name tails of the endorsements start..stop - 1 written in SQL (what the mapper events write for
    an endorsement stored through the ORM)."""
    endorsements = conn.execute(
        sa.text(
            "SELECT e.id, e.holder_id, e.number, e.credential, e.category, u.name FROM endorsement e "
            "JOIN user_account u ON u.id = e.holder_id WHERE e.id >= :start AND e.id < :stop"
        ),
        {"start": start, "stop": stop},
    ).all()
    rows = [row for endorsement in endorsements for row in name_tail_rows([endorsement], endorsement.name)]
    conn.execute(RegistryNameTail.__table__.insert(), rows)


def plan_of(app, search: registry.RegistrySearch, page: int = 1) -> str:
    """EXPLAIN of the very statement (and parameters) search_registry sends for this page."""
    with app.test_request_context():
        statement, parameters = registry.page_query(search, page=page, page_size=app.config["REGISTRY_PAGE_SIZE"])
        with db.engine.connect() as conn:

            def explain(_conn, _cursor, sql, parameters, _context, _many):
                return "EXPLAIN " + sql, parameters

            sa.event.listen(conn, "before_cursor_execute", explain, retval=True)
            return "\n".join(conn.execute(statement, parameters).scalars())


@pytest.fixture
def large(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("query plans are checked on PostgreSQL (the first pass of .ci/run)")
    add_holders(app, 0, LARGE)
    return app


def sorted_rows(plan: str) -> list[int]:
    """The estimated rows of every Sort node of the plan (an incremental sort is not one)."""
    return [int(rows) for rows in re.findall(r"(?:^|->  )Sort  \(cost=\S+ rows=(\d+)", plan, re.MULTILINE)]


def buffers_read(app, search: registry.RegistrySearch) -> int:
    """The pages of tables and indexes the search's first page reads (EXPLAIN (ANALYZE, BUFFERS))."""
    with app.test_request_context():
        statement, parameters = registry.page_query(search, page=1, page_size=app.config["REGISTRY_PAGE_SIZE"])
        with db.engine.connect() as conn:

            def explain(_conn, _cursor, sql, parameters, _context, _many):
                return "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, parameters

            sa.event.listen(conn, "before_cursor_execute", explain, retval=True)
            [[plan]] = conn.execute(statement, parameters).all()
    top = plan[0]["Plan"]
    return top["Shared Hit Blocks"] + top["Shared Read Blocks"]


SEARCHES_BY_NAME = [
    registry.RegistrySearch(name="Okafor 1000081"),  # one name
    registry.RegistrySearch(name="okafor"),  # a tenth of the names
    registry.RegistrySearch(name="okafor", category=2),
    registry.RegistrySearch(name="dana", credential=Credential.IMH_E),  # an eighth, by the first name
    registry.RegistrySearch(name="amara", credential=Credential.ECMH_E, category=3),
    registry.RegistrySearch(name="o"),  # one letter: the words that begin with it (every Okafor)
    registry.RegistrySearch(name="1"),  # the numbers that begin with 1: a name's last word
]


def tails_index(search: registry.RegistrySearch) -> str:
    """The index of the name tails that begins with the search's filters."""
    filters = [kind for kind, value in (("credential", search.credential), ("category", search.category)) if value]
    return "ix_registry_name_tail_" + ("_".join(filters) or "search")


def reads_its_tails_index(plan: str, search: registry.RegistrySearch) -> bool:
    return bool(re.search(rf"Index (Only )?Scan using {tails_index(search)} on registry_name_tail tail\b", plan))


@pytest.mark.parametrize("search", SEARCHES_BY_NAME)
def test_the_search_by_name_reads_the_tails_index_in_order_and_stops_once_the_page_is_full(large, search):
    """Whatever share of the names match: one range of the tails' index that begins with the search's
    credential and category, read in the order of the results, each tail joined to its endorsement, holder
    and listing as it comes, until the page is full. No Seq Scan, no sort but of the page's own rows, no
    bitmap of every match."""
    plan = plan_of(large, search)
    assert reads_its_tails_index(plan, search), plan
    assert not re.search(r"Seq Scan on (user_account|endorsement|registry_name_tail)\b", plan), plan
    assert "Bitmap" not in plan, plan
    assert not sorted_rows(plan) or max(sorted_rows(plan)) <= 26, plan


@pytest.mark.parametrize("search", SEARCHES_BY_NAME)
def test_a_search_by_name_reads_the_same_pages_with_twice_the_holders(large, search):
    """20,000 more holders with the same names' mix (as many more matches): the page reads about the same
    pages of the tables and indexes, about a page's rows' worth, not twice as many (the trigram search read
    every match and sorted them, its cost growing with the registry; so does a statement whose order the
    index does not give, which this test fails)."""
    before = buffers_read(large, search)
    add_holders(large, LARGE, 2 * LARGE)
    after = buffers_read(large, search)
    # About 10 pages per row read (index, heap, each joined table), 26 rows over the 4 in 7 listed and in force.
    assert before < 600 and after <= before + 10, (before, after)


def test_a_search_with_a_category_does_not_read_the_matching_holders_of_another(large):
    """20,000 more holders whose surname matches, of another category, sorting before every other match:
    the search with a category reads the same pages as without them (its index begins with the category;
    walking the tails of every category read them all before the first of its own)."""
    search = registry.RegistrySearch(name="okafor", category=2)
    before = buffers_read(large, search)
    add_holders(large, LARGE, 2 * LARGE, name="'Aaron Okafor 0' || g", category="3")
    assert len(registry_page(large, registry.RegistrySearch(name="okafor 0"))) == 25  # they are found
    after = buffers_read(large, search)
    assert before < 600 and after <= before + 10, (before, after)


def registry_page(app, search: registry.RegistrySearch) -> list[registry.RegistryEntry]:
    with app.test_request_context():
        return registry.search_registry(search, page=1, page_size=25).entries


def generic_plan_of(app, search: registry.RegistrySearch) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the plan PostgreSQL makes for the statement without its parameters'
    values (the plan a prepared statement may keep), run with the search's values."""
    with app.test_request_context():
        statement, parameters = registry.page_query(search, page=1, page_size=app.config["REGISTRY_PAGE_SIZE"])
        state = statement.compile(dialect=db.engine.dialect).construct_expanded_state(parameters)
        names: list[str] = []

        def positional(found: re.Match) -> str:
            if found.group(1) not in names:
                names.append(found.group(1))
            return f"${names.index(found.group(1)) + 1}"

        sql = re.sub(r"%\((\w+)\)s", positional, state.statement)
        with db.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            values = [state.parameters[name] for name in names]
            arguments = ", ".join(psycopg.sql.Literal(getattr(v, "value", v)).as_string(raw) for v in values)
            conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            conn.exec_driver_sql(f"PREPARE registry_page AS {sql}")
            plan = [
                row[0] for row in conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE registry_page({arguments})")
            ]
            conn.exec_driver_sql("DEALLOCATE registry_page")
            conn.exec_driver_sql("RESET plan_cache_mode")
            conn.rollback()
    return plan


@pytest.mark.parametrize("search", SEARCHES_BY_NAME)
def test_the_plan_kept_for_a_repeated_search_by_name_walks_the_tails_index_too(large, search):
    """The plan PostgreSQL may keep for a prepared statement, made without its parameters' values: the
    searched words, credential and category are in the SQL (registry._literal), so it reads the same range
    of the same index in order and stops once the page is full."""
    plan = "\n".join(generic_plan_of(large, search))
    assert reads_its_tails_index(plan, search), plan
    assert not re.search(r"Seq Scan on (user_account|endorsement|registry_name_tail)\b", plan), plan
    buffers = int(re.search(r"Buffers: shared hit=(\d+)", plan).group(1))
    assert buffers < 1_000, plan


def test_a_repeated_search_by_name_is_not_planned_anew_each_time(large):
    """From psycopg's fifth execution of the statement on a connection (when it prepares it), PostgreSQL
    makes five plans with the values and then keeps one (pg_prepared_statements): the searched words in
    the SQL leave nothing for the kept plan to guess."""
    with large.app_context():
        db.session.execute(sa.text("DEALLOCATE ALL"))
        for _ in range(16):
            registry.search_registry(registry.RegistrySearch(name="okafor", category=2), page=1, page_size=25)
        [(generic, custom)] = db.session.execute(
            sa.text(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE '%registry_name_tail%'"
            )
        ).all()
        db.session.rollback()
    assert generic >= 6 and custom <= 5, (generic, custom)


def test_matching_accounts_that_hold_no_endorsement_are_not_read(large):
    """20,000 more accounts whose surname matches and that hold no endorsement (as the applicants): they
    have no tails, and the search reads the same pages of the tables as without them."""
    search = registry.RegistrySearch(name="okafor")
    before = buffers_read(large, search)
    with large.app_context():
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO user_account (id, email, name, password_hash, role, created_at, session_version) "
                    "SELECT g, 'early' || g || '@example.org', 'Aaron Okafor 0' || g, 'not a hash', 'applicant', "
                    "now(), 1 FROM generate_series(2000000, 2019999) g"
                )
            )
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE user_account")
    after = buffers_read(large, search)
    assert before < 600 and after < before + 20, (before, after, plan_of(large, search))


def test_the_search_by_place_reads_the_trigram_index(large):
    plan = plan_of(large, registry.RegistrySearch(place="city 17"))
    assert re.search(r"Bitmap Index Scan on ix_registry_listing_city_trgm", plan), plan
    assert not re.search(r"Seq Scan on registry_listing\b", plan), plan


def test_the_search_finds_a_name_by_its_words_whatever_their_case(large):
    with large.test_request_context():
        found = registry.search_registry(registry.RegistrySearch(name="OKAFOR 1000081"), page=1, page_size=25)
        # 1000081: not a multiple of 3 (listed) nor of 7 (lapsed); 1 + 1000081 % 8 is Ben, 1 + 125010 % 10 Okafor.
        assert [entry.name for entry in found.entries] == ["Ben Okafor 1000081"]


@pytest.mark.parametrize("page", [1, 20, MAX_PAGE])
def test_the_unfiltered_pages_walk_the_name_index(large, page):
    """Read in the order of ix_user_account_name (name, id), the entry's number sorted within one name
    (an incremental sort): no Seq Scan, no sort of the whole registry (only of the page's own rows, put
    beside the registry's date)."""
    plan = plan_of(large, registry.RegistrySearch(), page=page)
    assert not re.search(r"Seq Scan on (user_account|endorsement|registry_listing)\b", plan), plan
    assert "Index Scan using ix_user_account_name on user_account" in plan, plan
    assert sorted_rows(plan) and max(sorted_rows(plan)) <= 26, plan


def test_statements_per_page_are_the_same_at_twenty_and_at_twenty_thousand(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the registry at scale is checked on PostgreSQL")
    client = app.test_client()
    urls = (
        "/registry/",
        "/registry/?page=3",
        "/registry/?name=okafor",
        "/registry/?place=city+17&category=2",
        "/registry/IMH-01000001",
    )
    add_holders(app, 0, 20)
    small = [statements_for(app, client, url) for url in urls]
    add_holders(app, 20, LARGE)
    large = [statements_for(app, client, url) for url in urls]
    assert small == large == [1, 1, 1, 1, 1]
