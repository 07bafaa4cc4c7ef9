"""A name's tails (the registry's search by the start of a name or a surname): what they are, how a search
is compared with them, and that the migration that first stored them (per account, in user_name_tail, since
replaced by the endorsements' tails: tests/endorsements/test_registry_name_tails.py) wrote them for the
accounts that existed."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from refportal.accounts.models import TAIL_LENGTH, name_tails, searchable
from refportal.endorsements.registry import after_every_extension
from refportal.extensions import db
from tests.support import insert_accounts, migrating_app


@pytest.mark.parametrize(
    ("name", "tails"),
    [
        ("Adaeze Okafor", ["adaeze okafor", "okafor"]),
        ("  Mary   Smith-Jones ", ["mary smith jones", "smith jones", "jones"]),
        ("Jürgen STRASSE", ["jürgen strasse", "strasse"]),
        ("Jürgen Straße", ["jürgen strasse", "strasse"]),  # case folded: ß is ss
        ("Ana – Lee", ["ana lee", "lee"]),  # a dash between words is a break
        ("Pat 100% Percent", ["pat 100% percent", "100% percent", "percent"]),
        ("<b>x</b> y", ["<b>x</b> y", "y"]),
        ("", []),
        (" - ", []),
    ],
)
def test_name_tails(name, tails):
    assert name_tails(name) == tails


def test_a_long_name_and_a_long_search_are_cut_alike():
    name = "a" * 200 + " b"
    assert [len(tail) for tail in name_tails(name)] == [TAIL_LENGTH, 1]
    assert searchable(name) == name_tails(name)[0] == "a" * TAIL_LENGTH


@pytest.mark.parametrize(
    ("prefix", "bound"),
    [
        ("okafor", "okafos"),
        ("a", "b"),
        ("z", "{"),
        ("\ud7ff", "\ue000"),
        ("a\U0010ffff", "b"),
        ("\U0010ffff", "\U0010ffff"),
    ],
)
def test_the_bound_after_every_extension_of_a_prefix(prefix, bound):
    assert after_every_extension(prefix) == bound
    for extension in ("", "a", " zz", "\uffff"):
        text = prefix + extension
        if prefix != "\U0010ffff":
            assert prefix <= text < bound, text


def test_the_migration_writes_the_tails_of_existing_accounts(tmp_path, postgres_schema):
    now = datetime(2026, 12, 4, 12, 0)
    with migrating_app(tmp_path, postgres_schema):
        upgrade(revision="7d88963de97d")
        with db.engine.begin() as conn:
            insert_accounts(conn, ((1, "Ada Okafor"), (2, "Mary Smith-Jones"), (3, "Zoë")), now)
        upgrade(revision="b3c9e2d4f6a1")
        with db.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT user_id, position, tail, name FROM user_name_tail ORDER BY user_id, position")
            ).all()
        assert [tuple(row) for row in rows] == [
            (user_id, position, tail, name)
            for user_id, name in ((1, "Ada Okafor"), (2, "Mary Smith-Jones"), (3, "Zoë"))
            for position, tail in enumerate(name_tails(name))
        ]
