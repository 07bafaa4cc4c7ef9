"""Bulk benchmark data: N applications, each with an applicant, three submitted references and
ratings, a membership declaration and audit events; and a registry of N endorsements (a fifth through the
endorsed applications, the others held by endorsees registered without an application) — written with
executemany, not the ORM."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from refportal.db import utcnow
from refportal.extensions import db
from refportal.references.rating_form import ITEM_KEYS

CHUNK = 5000


def build(n: int, password_hash: str, endorsements: int | None = None) -> None:
    """Fill an empty schema with `n` applications and `endorsements` endorsements (at least one per endorsed
    application, a fifth of `n`; by default `n`) (call inside an app context)."""
    meta = db.metadata
    users, apps, refs, ratings, memberships, events = (
        meta.tables[t]
        for t in ("user_account", "application", "reference", "rating", "membership_declaration", "audit_event")
    )
    now = utcnow()
    rng = random.Random(n)
    statuses = ["draft", "submitted", "submitted", "submitted", "endorsed"]
    with db.engine.begin() as conn:
        for start in range(0, n, CHUNK):
            ids = range(start + 1, min(n, start + CHUNK) + 1)
            conn.execute(
                users.insert(),
                [
                    dict(
                        id=i,
                        email=f"applicant{i}@example.org",
                        name=f"Applicant {i}",
                        password_hash=password_hash,
                        role="applicant",
                        email_verified_at=now,
                        created_at=now,
                        session_version=1,
                    )
                    for i in ids
                ],
            )
            conn.execute(
                apps.insert(),
                [
                    dict(
                        id=i,
                        applicant_id=i,
                        credential="imh-e" if i % 2 else "ecmh-e",
                        category=1 + i % 4,
                        mentor_track="clinical" if i % 4 == 3 else None,
                        status=statuses[i % 5],
                        created_at=now - timedelta(days=i % 300),
                        updated_at=now,
                        submitted_at=now - timedelta(days=i % 200) if i % 5 else None,
                        review_round=1,
                        education_level="master",
                        work_years=Decimal("4.0"),
                        training_hours=60,
                        rsc_hours=60,
                        eligibility_recorded_at=now,
                    )
                    for i in ids
                ],
            )
            conn.execute(
                memberships.insert(),
                [
                    dict(
                        application_id=i,
                        kind="current_member",
                        association="infancy_onward",
                        member_number=f"IO-{i}",
                        expires_on=(now + timedelta(days=365)).date(),
                        status="verified" if i % 3 else "declared",
                        declared_at=now,
                    )
                    for i in ids
                ],
            )
            conn.execute(
                refs.insert(),
                [
                    dict(
                        id=(i - 1) * 3 + k + 1,
                        application_id=i,
                        name=f"Referee {i}-{k}",
                        email=f"ref{i}-{k}@example.net",
                        organisation="Org",
                        role=("supervisor", "rsc_provider", "colleague")[k],
                        setting="Program",
                        known_years=Decimal("3.0"),
                        waived=True,
                        language="en",
                        status="submitted",
                        nominated_at=now,
                        invited_at=now,
                        submitted_at=now,
                        auto_reminders_sent=0,
                        link_nonce=f"nonce-{i}-{k}",
                        link_issued_at=now,
                    )
                    for i in ids
                    for k in range(3)
                ],
            )
            conn.execute(
                ratings.insert(),
                [
                    dict(
                        reference_id=(i - 1) * 3 + k + 1,
                        form_version="2026-1",
                        answers={key: str(rng.randint(2, 5)) for key in ITEM_KEYS},
                        not_enough_information=0,
                        counts=True,
                        recommendation="recommend",
                        strengths="Warm and attuned.",
                        growth="Documentation.",
                        for_reviewers="",
                        relationship_role="Supervisor",
                        relationship_setting="Program",
                        relationship_years=Decimal("3.0"),
                        attestation_name=f"Referee {i}-{k}",
                        submitted_at=now,
                    )
                    for i in ids
                    for k in range(3)
                ],
            )
            conn.execute(
                events.insert(),
                [
                    dict(occurred_at=now, actor_id=i, action=action, object_type="application", object_id=i, details={})
                    for i in ids
                    for action in (
                        "application.opened",
                        "application.eligibility_recorded",
                        "reference.requests_sent",
                        "application.submitted",
                    )
                ],
            )
        add_endorsements(conn, n, now)
        extra = max(0, (n if endorsements is None else endorsements) - n // 5)
        add_registered_holders(conn, n, extra, password_hash, now)
        if conn.dialect.name == "postgresql":
            for table in ("user_account", "application", "reference", "endorsement"):
                conn.execute(
                    sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
    if db.engine.dialect.name == "postgresql":
        # VACUUM too: it merges the trigram indexes' pending entries (written in bulk after the migrations
        # built them empty), as autovacuum would on a live database.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")


NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def number_for(i: int) -> str:
    """The endorsement number of application `i` (random-looking, as refportal's, and the same every run)."""
    rng = random.Random(f"endorsement-{i}")
    return ("IMH-" if i % 2 else "ECMH-") + "".join(rng.choice(NUMBER_ALPHABET) for _ in range(8))


def add_endorsements(conn: sa.Connection, n: int, now) -> None:
    """An endorsement for every endorsed application (a fifth of them): active, one in seven lapsed; a
    third of the holders opted out of the registry, half of the others show a city."""
    meta = db.metadata
    endorsements, changes, listings = (
        meta.tables[t] for t in ("endorsement", "endorsement_change", "registry_listing")
    )
    endorsed = [i for i in range(1, n + 1) if i % 5 == 4]
    for start in range(0, len(endorsed), CHUNK):
        chunk = endorsed[start : start + CHUNK]
        conn.execute(
            endorsements.insert(),
            [
                dict(
                    id=i,
                    number=number_for(i),
                    holder_id=i,
                    application_id=i,
                    credential="imh-e" if i % 2 else "ecmh-e",
                    category=1 + i % 4,
                    mentor_track="clinical" if i % 4 == 3 else None,
                    issued_on=(now - timedelta(days=i % 300)).date(),
                    period_starts_on=(now - timedelta(days=i % 300)).date(),
                    period_ends_on=(now + timedelta(days=365 - i % 300)).date(),
                    status="lapsed" if i % 7 == 0 else "active",
                    status_changed_at=now,
                    created_at=now,
                    updated_at=now,
                )
                for i in chunk
            ],
        )
        conn.execute(
            changes.insert(),
            [dict(endorsement_id=i, status="active", event="issue", changed_at=now) for i in chunk],
        )
        conn.execute(
            listings.insert(),
            [
                dict(holder_id=i, listed=i % 3 != 0, show_city=i % 2 == 0, city=f"City {i % 50}", updated_at=now)
                for i in chunk
            ],
        )


FIRST_NAMES = [
    "Amara",
    "Ben",
    "Carmen",
    "Dana",
    "Elif",
    "Farah",
    "Grace",
    "Hana",
    "Ines",
    "Jonas",
    "Kofi",
    "Lena",
    "Maya",
    "Nora",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tomas",
    "Uma",
    "Vera",
    "Wen",
    "Ximena",
    "Yara",
    "Zoe",
    "Ana",
    "Bruno",
    "Chloe",
    "Diego",
    "Eva",
    "Felix",
    "Gabriel",
    "Hugo",
    "Iris",
    "Jade",
    "Kai",
    "Leo",
    "Mila",
    "Noah",
]
LAST_NAMES = [
    "Okafor",
    "Silva",
    "Nguyen",
    "Kowalski",
    "Haddad",
    "Moreau",
    "Tanaka",
    "Ibrahim",
    "Larsen",
    "Rossi",
    "Novak",
    "Fischer",
    "Costa",
    "Mensah",
    "Dubois",
    "Petrov",
    "Alvarez",
    "Kim",
    "Sato",
    "Murphy",
    "Jensen",
    "Popescu",
    "Yilmaz",
    "Cohen",
    "Ferreira",
    "Nakamura",
    "Osei",
    "Schmidt",
    "Varga",
    "Lindqvist",
    "Ortega",
    "Park",
    "Quispe",
    "Romero",
    "Santos",
    "Tremblay",
    "Ueda",
    "Vasquez",
    "Weber",
    "Abebe",
    "Bauer",
    "Castro",
    "Diallo",
    "Eriksen",
    "Fontaine",
    "Garcia",
    "Hoang",
    "Ito",
    "Jovanovic",
    "Kaur",
    "Lopez",
    "Mbeki",
    "Nieminen",
    "Oliveira",
    "Pereira",
    "Reyes",
    "Sokolov",
    "Torres",
    "Walsh",
    "Zhou",
]
SURNAME_SEARCHED = "Okafor"  # the bench's search by name: a sixtieth of the registered holders bear it


def holder_name(k: int) -> str:
    return f"{FIRST_NAMES[k % len(FIRST_NAMES)]} {LAST_NAMES[k // len(FIRST_NAMES) % len(LAST_NAMES)]}"


def add_registered_holders(conn: sa.Connection, n: int, count: int, password_hash: str, now) -> None:
    """`count` endorsees registered without an application (their endorsements came from before the portal),
    user and endorsement ids from n + 1: active, one in seven lapsed; a third opted out of the registry,
    half of the others show a city, as for the endorsed applications."""
    meta = db.metadata
    users, endorsements, changes, listings = (
        meta.tables[t] for t in ("user_account", "endorsement", "endorsement_change", "registry_listing")
    )
    for start in range(n + 1, n + count + 1, CHUNK):
        ids = range(start, min(n + count, start + CHUNK - 1) + 1)
        conn.execute(
            users.insert(),
            [
                dict(
                    id=i,
                    email=f"holder{i}@example.org",
                    name=holder_name(i),
                    password_hash=password_hash,
                    role="applicant",
                    email_verified_at=now,
                    created_at=now,
                    session_version=1,
                )
                for i in ids
            ],
        )
        conn.execute(
            endorsements.insert(),
            [
                dict(
                    id=i,
                    number=number_for(i),
                    holder_id=i,
                    application_id=None,
                    credential="imh-e" if i % 2 else "ecmh-e",
                    category=1 + i % 4,
                    mentor_track="clinical" if i % 4 == 3 else None,
                    issued_on=(now - timedelta(days=i % 700)).date(),
                    period_starts_on=(now - timedelta(days=i % 300)).date(),
                    period_ends_on=(now + timedelta(days=365 - i % 300)).date(),
                    status="lapsed" if i % 7 == 0 else "active",
                    status_changed_at=now,
                    created_at=now,
                    updated_at=now,
                )
                for i in ids
            ],
        )
        conn.execute(
            changes.insert(),
            [dict(endorsement_id=i, status="active", event="issue", changed_at=now) for i in ids],
        )
        conn.execute(
            listings.insert(),
            [
                dict(holder_id=i, listed=i % 3 != 0, show_city=i % 2 == 0, city=f"City {i % 50}", updated_at=now)
                for i in ids
            ],
        )


ROUND_DAYS = 50
ASSIGNED_FILES = 25


def add_review_rounds(reviewer_id: int) -> None:
    """Four consecutive rounds over the submissions of the last 200 days (each submitted application in
    the round covering its day, as `create_round` places them), and `ASSIGNED_FILES` submitted files of the
    latest round assigned to the reviewer: their "My assigned files" is the same size at every scale."""
    meta = db.metadata
    rounds, apps, assignments = (meta.tables[t] for t in ("review_round", "application", "review_assignment"))
    today = utcnow().date()
    with db.engine.begin() as conn:
        for k in range(4):
            deadline = today - timedelta(days=ROUND_DAYS * k)
            opens = deadline - timedelta(days=ROUND_DAYS - 1)
            round_id = conn.execute(
                rounds.insert().returning(rounds.c.id),
                dict(
                    name=f"Round {4 - k}",
                    opens_on=opens,
                    submission_deadline=deadline,
                    review_due=deadline + timedelta(days=30),
                    created_at=utcnow(),
                ),
            ).scalar_one()
            conn.execute(
                apps.update()
                .where(
                    apps.c.submitted_at.is_not(None),
                    sa.func.date(apps.c.submitted_at) >= opens,
                    sa.func.date(apps.c.submitted_at) <= deadline,
                )
                .values(review_round_id=round_id)
            )
        latest = conn.execute(sa.select(sa.func.min(rounds.c.id))).scalar_one()
        files = conn.execute(
            sa.select(apps.c.id)
            .where(apps.c.review_round_id == latest, apps.c.status == "submitted")
            .order_by(apps.c.id)
            .limit(ASSIGNED_FILES)
        ).scalars()
        conn.execute(
            assignments.insert(),
            [dict(application_id=i, reviewer_id=reviewer_id, assigned_at=utcnow()) for i in files],
        )
