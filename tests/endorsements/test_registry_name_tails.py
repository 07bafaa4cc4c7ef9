"""The registry's name tails: one row per endorsement and word of its holder's name, beside the
endorsement's number, credential and category. Every way an endorsement is stored or its holder renamed
through the ORM keeps them; the migration writes them for the endorsements that exist (and a downgrade
gives the accounts' tails back)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from refportal.accounts.models import name_tails
from refportal.applications.categories import Credential
from refportal.endorsements import registry
from refportal.endorsements.models import RegistryNameTail
from refportal.extensions import db
from tests.factories import EndorsementFactory, RegistryNameTailFactory, make_user
from tests.support import insert_accounts, migrating_app


def tails() -> list[tuple[str, int, str, str, Credential, int]]:
    rows = db.session.execute(
        sa.select(
            RegistryNameTail.number,
            RegistryNameTail.position,
            RegistryNameTail.tail,
            RegistryNameTail.name,
            RegistryNameTail.credential,
            RegistryNameTail.category,
        ).order_by(RegistryNameTail.number, RegistryNameTail.position)
    ).all()
    return [tuple(row) for row in rows]


def test_an_endorsement_has_its_holders_name_tails_and_an_account_without_one_has_none(app):
    with app.app_context():
        make_user(email="applicant@example.org", name="Ada Applicant")
        holder = make_user(email="ada@example.org", name="Ada Okafor")
        EndorsementFactory(holder=holder, number="IMH-AAAAAAAA", credential=Credential.IMH_E, category=3)
        db.session.commit()
        assert tails() == [
            ("IMH-AAAAAAAA", 0, "ada okafor", "Ada Okafor", Credential.IMH_E, 3),
            ("IMH-AAAAAAAA", 1, "okafor", "Ada Okafor", Credential.IMH_E, 3),
        ]
        assert {row.holder_id for row in db.session.scalars(sa.select(RegistryNameTail))} == {holder.id}


def test_a_renamed_holder_has_the_new_names_tails_for_each_endorsement(app):
    with app.app_context():
        holder = make_user(email="ada@example.org", name="Ada Okafor")
        EndorsementFactory(holder=holder, number="IMH-AAAAAAAA", credential=Credential.IMH_E, category=3)
        EndorsementFactory(holder=holder, number="ECMH-BBBBBBBB", credential=Credential.ECMH_E, category=1)
        db.session.commit()
        holder.name = "Ada Bello-Eze"
        db.session.commit()
        assert tails() == [
            (number, position, tail, "Ada Bello-Eze", credential, category)
            for number, credential, category in (
                ("ECMH-BBBBBBBB", Credential.ECMH_E, 1),
                ("IMH-AAAAAAAA", Credential.IMH_E, 3),
            )
            for position, tail in enumerate(["ada bello eze", "bello eze", "eze"])
        ]


def test_a_name_saved_unchanged_or_another_field_changed_keeps_the_tails(app):
    with app.app_context():
        holder = make_user(email="ada@example.org", name="Ada Okafor")
        endorsement = EndorsementFactory(holder=holder)
        db.session.commit()
        # A row no rewrite would give: still there afterwards, the tails were left alone.
        RegistryNameTailFactory(endorsement=endorsement, tail="marker")
        db.session.commit()
        before = tails()
        holder.name = "Ada Okafor"  # expired by the commit: the old name is not loaded
        holder.organisation = "Somewhere"
        db.session.commit()
        assert tails() == before and len(before) == 3
        holder.organisation = "Elsewhere"
        db.session.commit()
        assert tails() == before


def test_the_tails_go_with_their_endorsement(app):
    with app.app_context():
        holder = make_user(email="ada@example.org", name="Ada Okafor")
        kept = EndorsementFactory(holder=holder, number="IMH-AAAAAAAA")
        gone = EndorsementFactory(holder=holder, number="IMH-BBBBBBBB")
        db.session.commit()
        db.session.delete(gone)
        db.session.commit()
        assert {row[0] for row in tails()} == {kept.number}


def test_the_migration_writes_the_tails_of_existing_endorsements_and_a_downgrade_the_accounts(
    tmp_path, postgres_schema
):
    endorsement = sa.table(
        "endorsement",
        *(
            sa.column(n)
            for n in (
                "id",
                "number",
                "holder_id",
                "credential",
                "category",
                "issued_on",
                "period_starts_on",
                "period_ends_on",
                "status",
                "status_changed_at",
                "created_at",
                "updated_at",
            )
        ),
    )
    now, today = datetime(2026, 12, 4, 12, 0), date(2026, 12, 4)
    names = ((1, "Ada Okafor"), (2, "Mary Smith-Jones"), (3, "Zoë"))
    with migrating_app(tmp_path, postgres_schema):
        upgrade(revision="b3c9e2d4f6a1")
        with db.engine.begin() as conn:
            insert_accounts(conn, names, now)
            for endorsement_id, holder_id, credential, category in ((10, 2, "ecmh-e", 4), (11, 1, "imh-e", 2)):
                conn.execute(
                    sa.insert(endorsement).values(
                        id=endorsement_id,
                        number=f"IMH-{endorsement_id:08d}",
                        holder_id=holder_id,
                        credential=credential,
                        category=category,
                        issued_on=today,
                        period_starts_on=today,
                        period_ends_on=today,
                        status="active",
                        status_changed_at=now,
                        created_at=now,
                        updated_at=now,
                    )
                )
        upgrade(revision="c7e41a9d2b58")
        with db.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT endorsement_id, holder_id, position, tail, name, number, credential, category "
                    "FROM registry_name_tail ORDER BY endorsement_id, position"
                )
            ).all()
            assert "user_name_tail" not in sa.inspect(conn).get_table_names()
        assert [tuple(row) for row in rows] == [
            (endorsement_id, holder_id, position, tail, name, f"IMH-{endorsement_id:08d}", credential, category)
            for endorsement_id, holder_id, name, credential, category in (
                (10, 2, "Mary Smith-Jones", "ecmh-e", 4),
                (11, 1, "Ada Okafor", "imh-e", 2),
            )
            for position, tail in enumerate(name_tails(name))
        ]

        downgrade(revision="b3c9e2d4f6a1")
        with db.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT user_id, position, tail, name FROM user_name_tail ORDER BY user_id, position")
            ).all()
            assert "registry_name_tail" not in sa.inspect(conn).get_table_names()
        assert [tuple(row) for row in rows] == [
            (user_id, position, tail, name) for user_id, name in names for position, tail in enumerate(name_tails(name))
        ]


def test_the_tails_follow_a_change_of_what_they_copy_of_their_endorsement(app):
    """An endorsement keeps its holder, number, credential and category for life; should one change
    through the ORM all the same, its tails follow (the search filters and joins on the copies)."""
    with app.app_context():
        ada = make_user(email="ada@example.org", name="Ada Okafor")
        bea = make_user(email="bea@example.org", name="Bea Bello")
        endorsement = EndorsementFactory(holder=ada, number="IMH-AAAAAAAA", credential=Credential.IMH_E, category=2)
        db.session.commit()
        endorsement.holder_id, endorsement.category = bea.id, 4
        db.session.commit()
        assert tails() == [
            ("IMH-AAAAAAAA", 0, "bea bello", "Bea Bello", Credential.IMH_E, 4),
            ("IMH-AAAAAAAA", 1, "bello", "Bea Bello", Credential.IMH_E, 4),
        ]
        assert {row.holder_id for row in db.session.scalars(sa.select(RegistryNameTail))} == {bea.id}


def test_a_holder_of_two_endorsements_is_found_in_the_category_of_each(app):
    with app.test_request_context():
        holder = make_user(email="ada@example.org", name="Ada Okafor")
        EndorsementFactory(holder=holder, number="IMH-AAAAAAAA", credential=Credential.IMH_E, category=3)
        EndorsementFactory(holder=holder, number="ECMH-BBBBBBBB", credential=Credential.ECMH_E, category=1)
        db.session.commit()

        def numbers(**search) -> list[str]:
            found = registry.search_registry(registry.RegistrySearch(name="okafor", **search), page=1, page_size=25)
            return [entry.number for entry in found.entries]

        assert numbers() == ["ECMH-BBBBBBBB", "IMH-AAAAAAAA"]
        assert numbers(category=1) == numbers(credential=Credential.ECMH_E) == ["ECMH-BBBBBBBB"]
        assert numbers(category=3) == numbers(credential=Credential.IMH_E, category=3) == ["IMH-AAAAAAAA"]
        assert numbers(credential=Credential.IMH_E, category=1) == []
