"""Bulk benchmark data: N applications, each with an applicant, three submitted references and
ratings, a membership declaration, its eligibility evidence as portfolio entries (the totals stored as
refportal's store_totals stores them), its fee account (charged, and paid as far as the application has
gone), its documents and audit events; the reviewer's item-by-item verdicts on half their assigned files;
and a registry of N endorsements (a fifth through the endorsed applications, the others held by endorsees
registered without an application) — written with executemany, not the ORM."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from types import SimpleNamespace

import sqlalchemy as sa

from refportal.applications.categories import Credential, MentorTrack, category_name
from refportal.applications.evidence import work_years
from refportal.config import DEFAULT_FEE_SCHEDULE
from refportal.db import utcnow
from refportal.endorsements.models import name_tail_rows
from refportal.extensions import db
from refportal.payments.ledger import cents
from refportal.references.rating_form import ITEM_KEYS
from refportal.reviews.progress import recount

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
            add_evidence(conn, ids, now)  # the portfolios first: the applications refer to them
            conn.execute(
                apps.insert(),
                [
                    dict(
                        id=i,
                        applicant_id=i,
                        credential=credential_of(i).value,
                        category=category_of(i),
                        mentor_track=track_of(i) and track_of(i).value,
                        status=status_of(i),
                        created_at=created_at(i, now),
                        updated_at=now,
                        submitted_at=submitted_at(i, now),
                        review_round=1,
                        **stored_totals(i, now),
                    )
                    for i in ids
                ],
            )
            add_fees(conn, ids, now)
            add_documents(conn, ids, now)
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
                    for action in ("application.opened", "reference.requests_sent", "application.submitted")
                ]
                + [
                    dict(
                        occurred_at=now,
                        actor_id=i,
                        action="application.evidence_added",
                        object_type="application",
                        object_id=i,
                        details={"kind": kind, "entry": entry_id},
                    )
                    for i in ids
                    for kind, entry_id in entry_ids(i)
                ],
            )
        add_endorsements(conn, n, now)
        extra = max(0, (n if endorsements is None else endorsements) - n // 5)
        add_registered_holders(conn, n, extra, password_hash, now)
        if conn.dialect.name == "postgresql":
            for table in (
                "user_account",
                "application",
                "reference",
                "endorsement",
                "document",
                *EVIDENCE_TABLES,
                *FEE_TABLES,
            ):
                conn.execute(
                    sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
    if db.engine.dialect.name == "postgresql":
        # VACUUM too: it merges the trigram indexes' pending entries (written in bulk after the migrations
        # built them empty), as autovacuum would on a live database.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")


# Each application's facts, read by every table written for it.
STATUSES = ["draft", "submitted", "submitted", "submitted", "endorsed"]


def status_of(i: int) -> str:
    return STATUSES[i % 5]


def credential_of(i: int) -> Credential:
    return Credential.IMH_E if i % 2 else Credential.ECMH_E


def category_of(i: int) -> int:
    return 1 + i % 4


def track_of(i: int) -> MentorTrack | None:
    return MentorTrack.CLINICAL if i % 4 == 3 else None


def created_at(i: int, now: datetime) -> datetime:
    return now - timedelta(days=i % 300)


def submitted_at(i: int, now: datetime) -> datetime | None:
    return now - timedelta(days=i % 200) if i % 5 else None


# The evidence entries (refportal.applications.evidence): every application's eligibility comes from
# its portfolio (portfolio id = application id), as for every application opened since entries. An
# education entry (a master's), two stretches of work (the earlier one part time, serving children 0–3
# only, so it counts for the IMH-E alone), three trainings of 20 hours and two RSC stretches of 30 hours
# from providers with a credential; one application in eight also has 12 RSC hours from a provider
# without one (shown, not counted). The application's total columns hold what refportal's store_totals
# stores from them (the queue's filter reads those).
EVIDENCE_TABLES = ("portfolio", "education_entry", "work_entry", "training_entry", "rsc_entry")
TRAININGS = 3
RSC_CREDENTIAL = "IMH-E Mentor–Clinical"


def evaluation_day(i: int, now: datetime) -> date:
    """refportal's evidence.evaluation_day: the day submitted, or today while the application is a draft."""
    submitted = submitted_at(i, now)
    return submitted.date() if status_of(i) != "draft" and submitted else now.date()


def work_entries(i: int, now: datetime) -> list[dict]:
    opened = created_at(i, now).date()
    ongoing_since = opened - timedelta(days=4 * 365 + i % 365)
    return [
        dict(
            id=2 * i - 1,
            portfolio_id=i,
            employer="Early Head Start",
            role="Home visitor",
            starts_on=ongoing_since - timedelta(days=3 * 365),
            ends_on=ongoing_since - timedelta(days=30),
            hours_per_week=20,
            serves_0_3=True,
            serves_3_6=False,
            description=None,
            created_at=now,
        ),
        dict(
            id=2 * i,
            portfolio_id=i,
            employer=f"Family Centre {i % 40}",
            role="Infant mental health specialist",
            starts_on=ongoing_since,
            ends_on=None,
            hours_per_week=40,
            serves_0_3=True,
            serves_3_6=True,
            description="Home visits and parent–infant groups.",
            created_at=now,
        ),
    ]


def rsc_count(i: int) -> int:
    return 3 if i % 8 == 0 else 2


def entry_ids(i: int) -> list[tuple[str, int]]:
    """Each entry of application i's portfolio as (kind, id), in the order the applicant added them."""
    return [
        ("education", i),
        ("work", 2 * i - 1),
        ("work", 2 * i),
        *(("training", TRAININGS * (i - 1) + k + 1) for k in range(TRAININGS)),
        *(("rsc", 3 * (i - 1) + k + 1) for k in range(rsc_count(i))),
    ]


def stored_totals(i: int, now: datetime) -> dict:
    """The application's columns as refportal's store_totals leaves them after the last entry."""
    as_of = evaluation_day(i, now)
    entries = [SimpleNamespace(**w) for w in work_entries(i, now)]
    counted = [w for w in entries if (w.serves_0_3 if credential_of(i) is Credential.IMH_E else w.serves_3_6)]
    years = min(work_years(counted, as_of), Decimal("999.9")).quantize(Decimal("0.1"), ROUND_FLOOR)
    return dict(
        eligibility_source="entries",
        portfolio_id=i,
        education_level="master",
        work_years=years,
        training_hours=TRAININGS * 20,
        rsc_hours=60,
        employer=f"Family Centre {i % 40}",
        eligibility_recorded_at=now,
    )


def add_evidence(conn: sa.Connection, ids: range, now: datetime) -> None:
    portfolios, education, work, training, rsc = (db.metadata.tables[t] for t in EVIDENCE_TABLES)
    conn.execute(portfolios.insert(), [dict(id=i, created_at=created_at(i, now)) for i in ids])
    conn.execute(
        education.insert(),
        [
            dict(
                id=i,
                portfolio_id=i,
                level="master",
                field_of_study="Infant and early childhood mental health",
                institution="State University",
                year_completed=2012 + i % 10,
                created_at=now,
            )
            for i in ids
        ],
    )
    conn.execute(work.insert(), [entry for i in ids for entry in work_entries(i, now)])
    conn.execute(
        training.insert(),
        [
            dict(
                id=TRAININGS * (i - 1) + k + 1,
                portfolio_id=i,
                title=("Foundations of infant mental health", "Reflective practice", "Culture and caregiving")[k],
                provider="Infancy Onward",
                taken_on=created_at(i, now).date() - timedelta(days=60 * (k + 1)),
                hours=Decimal("20.00"),
                about_rsc=k == 1,
                about_dei=k == 2,
                created_at=now,
            )
            for i in ids
            for k in range(TRAININGS)
        ],
    )
    conn.execute(
        rsc.insert(),
        [
            dict(
                id=3 * (i - 1) + k + 1,
                portfolio_id=i,
                provider=("Dr. Amara Osei", "Reflective consultation group", "Peer group")[k],
                provider_credential=RSC_CREDENTIAL if k < 2 else None,
                starts_on=created_at(i, now).date() - timedelta(days=(3 - k) * 120),
                ends_on=created_at(i, now).date() - timedelta(days=(2 - k) * 120 + 10),
                hours=Decimal("30.00") if k < 2 else Decimal("12.00"),
                format="individual" if k == 0 else "group",
                created_at=now,
            )
            for i in ids
            for k in range(rsc_count(i))
        ],
    )


# The fee ledger (refportal.payments): every application's account holds the application and processing
# fees of the schedule (the membership fee is never charged: every declaration is a current membership);
# the application fee was paid by card before the referee requests went out, the processing fee before
# the application was submitted (a draft owes it still).
FEE_TABLES = ("fee_account", "fee_charge", "fee_payment")


def add_fees(conn: sa.Connection, ids: range, now: datetime) -> None:
    accounts, charges, payments = (db.metadata.tables[t] for t in FEE_TABLES)
    schedule = DEFAULT_FEE_SCHEDULE
    conn.execute(
        accounts.insert(),
        [
            dict(
                id=i,
                payer_id=i,
                application_id=i,
                label=f"Application {i}: {credential_of(i).short}, "
                f"{category_name(credential_of(i), category_of(i), track_of(i))}"[:200],
                currency=schedule["currency"],
                created_at=created_at(i, now),
            )
            for i in ids
        ],
    )
    conn.execute(
        charges.insert(),
        [
            dict(
                id=2 * i - 1 + k,
                account_id=i,
                kind=kind,
                amount_cents=cents(schedule[kind][category_of(i)]),
                created_at=created_at(i, now),
            )
            for i in ids
            for k, kind in enumerate(("application", "processing"))
        ],
    )
    rows = []
    for i in ids:
        opened = created_at(i, now)
        paid = [("application", opened + timedelta(hours=1))]
        if status_of(i) != "draft":
            paid.append(("processing", max(submitted_at(i, now) or opened, opened + timedelta(hours=2))))
        for k, (kind, at) in enumerate(paid):
            rows.append(
                dict(
                    id=2 * i - 1 + k,
                    account_id=i,
                    method="card",
                    amount_cents=cents(schedule[kind][category_of(i)]),
                    currency=schedule["currency"],
                    received_on=at.date(),
                    reference=f"pi_bench_{i}_{k}",
                    created_at=at,
                )
            )
    conn.execute(payments.insert(), rows)


# The applicant's documents (refportal.documents; rows only, the benchmark never opens their bytes): a
# transcript (a PDF), a certificate (a photo) and a résumé (a PDF) on every application but the drafts,
# which have the résumé so far; each scanned clean, each upload on the file's audit trail.
DOCUMENTS = (
    ("resume", "resume.pdf", "application/pdf", 148_000),
    ("transcript", "transcript.pdf", "application/pdf", 412_000),
    ("certificate", "certificate.jpg", "image/jpeg", 1_900_000),
)


def documents_of(i: int) -> list[tuple[int, tuple[str, str, str, int]]]:
    """Application i's documents as (id, (purpose, filename, content type, size))."""
    kept = DOCUMENTS[:1] if status_of(i) == "draft" else DOCUMENTS
    return [(len(DOCUMENTS) * (i - 1) + k + 1, document) for k, document in enumerate(kept)]


def add_documents(conn: sa.Connection, ids: range, now: datetime) -> None:
    documents, events = (db.metadata.tables[t] for t in ("document", "audit_event"))
    rows = [
        dict(
            id=document_id,
            application_id=i,
            purpose=purpose,
            filename=filename,
            content_type=content_type,
            size=size,
            sha256=f"{document_id:064x}",
            storage="filesystem",
            storage_key=f"bench/{document_id}",
            uploaded_by_id=i,
            uploaded_at=created_at(i, now) + timedelta(hours=3, minutes=document_id % 60),
            scan_state="clean",
            scan_attempts=1,
            scanned_at=created_at(i, now) + timedelta(hours=3, minutes=document_id % 60),
        )
        for i in ids
        for document_id, (purpose, filename, content_type, size) in documents_of(i)
    ]
    conn.execute(documents.insert(), rows)
    conn.execute(
        events.insert(),
        [
            dict(
                occurred_at=row["uploaded_at"],
                actor_id=row["uploaded_by_id"],
                action="document.uploaded",
                object_type="document",
                object_id=row["id"],
                details={"application": row["application_id"], "purpose": row["purpose"], "scan": "clean"},
            )
            for row in rows
        ],
    )


NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def number_for(i: int) -> str:
    """The endorsement number of application `i` (random-looking, as refportal's, and the same every run)."""
    rng = random.Random(f"endorsement-{i}")
    return ("IMH-" if i % 2 else "ECMH-") + "".join(rng.choice(NUMBER_ALPHABET) for _ in range(8))


def add_endorsements(conn: sa.Connection, n: int, now) -> None:
    """An endorsement for every endorsed application (a fifth of them): active, one in seven lapsed; a
    third of the holders opted out of the registry, half of the others show a city."""
    endorsed = [i for i in range(1, n + 1) if i % 5 == 4]
    for start in range(0, len(endorsed), CHUNK):
        add_endorsed_holders(
            conn, endorsed[start : start + CHUNK], now, lambda i: f"Applicant {i}", through_application=True
        )


def add_endorsed_holders(
    conn: sa.Connection, ids, now, name_of: Callable[[int], str], *, through_application: bool
) -> None:
    """Endorsements `ids` held by the accounts of the same ids (their application's, or none): active, one in
    seven lapsed; their name tails; a third of the holders opted out of the registry, half of the others
    show a city."""
    meta = db.metadata
    endorsements, changes, listings = (
        meta.tables[t] for t in ("endorsement", "endorsement_change", "registry_listing")
    )
    issued_days = 300 if through_application else 700  # the registered holders' go further back
    rows = [
        dict(
            id=i,
            number=number_for(i),
            holder_id=i,
            application_id=i if through_application else None,
            credential="imh-e" if i % 2 else "ecmh-e",
            category=1 + i % 4,
            mentor_track="clinical" if i % 4 == 3 else None,
            issued_on=(now - timedelta(days=i % issued_days)).date(),
            period_starts_on=(now - timedelta(days=i % 300)).date(),
            period_ends_on=(now + timedelta(days=365 - i % 300)).date(),
            status="lapsed" if i % 7 == 0 else "active",
            status_changed_at=now,
            created_at=now,
            updated_at=now,
        )
        for i in ids
    ]
    conn.execute(endorsements.insert(), rows)
    add_name_tails(conn, rows, name_of)
    conn.execute(
        changes.insert(), [dict(endorsement_id=i, status="active", event="issue", changed_at=now) for i in ids]
    )
    conn.execute(
        listings.insert(),
        [
            dict(holder_id=i, listed=i % 3 != 0, show_city=i % 2 == 0, city=f"City {i % 50}", updated_at=now)
            for i in ids
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
SURNAME_SEARCHED = "Okafor"  # the bench's search by name: every eleventh registered holder bears it, at every size
OTHER_SURNAMES = [name for name in LAST_NAMES if name != SURNAME_SEARCHED]


def holder_name(k: int) -> str:
    """Every first name in turn; the searched surname for every eleventh holder (a full page of listed
    entries at 1,000 as at 100,000: 11 is prime to the 3 of the listing, the 7 of the lapses and the 4 of the
    categories), every other surname in turn for the others (moving on with each holder, one further with
    each round of the first names)."""
    first = FIRST_NAMES[k % len(FIRST_NAMES)]
    if k % 11 == 0:
        return f"{first} {SURNAME_SEARCHED}"
    return f"{first} {OTHER_SURNAMES[(k + k // len(FIRST_NAMES)) % len(OTHER_SURNAMES)]}"


def add_name_tails(conn: sa.Connection, endorsements: list[dict], name_of: Callable[[int], str]) -> None:
    """The registry search's name tails of these endorsements (what the mapper events write through the ORM)."""
    conn.execute(
        db.metadata.tables["registry_name_tail"].insert(),
        [row for e in endorsements for row in name_tail_rows([SimpleNamespace(**e)], name_of(e["holder_id"]))],
    )


def add_registered_holders(conn: sa.Connection, n: int, count: int, password_hash: str, now) -> None:
    """`count` endorsees registered without an application (their endorsements came from before the portal),
    user and endorsement ids from n + 1: active, one in seven lapsed; a third opted out of the registry,
    half of the others show a city, as for the endorsed applications."""
    users = db.metadata.tables["user_account"]
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
        add_endorsed_holders(conn, ids, now, holder_name, through_application=False)


ROUND_DAYS = 50
ASSIGNED_FILES = 25


def add_review_rounds(reviewer_id: int) -> None:
    """Four consecutive rounds over the submissions of the last 200 days (each submitted application in
    the round covering its day, as `create_round` places them), and `ASSIGNED_FILES` submitted files of the
    latest round assigned to the reviewer: their "My assigned files" is the same size at every scale; then
    the rounds' stored progress counted (refportal.reviews.progress.recount)."""
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
        files = list(
            conn.execute(
                sa.select(apps.c.id)
                .where(apps.c.review_round_id == latest, apps.c.status == "submitted")
                .order_by(apps.c.id)
                .limit(ASSIGNED_FILES)
            ).scalars()
        )
        conn.execute(
            assignments.insert(),
            [dict(application_id=i, reviewer_id=reviewer_id, assigned_at=utcnow()) for i in files],
        )
        add_verdicts(conn, [i for i in files if i % 2 == 0], reviewer_id)
    # The rows above bypass the ORM, whose flushes keep the rounds' stored progress: count it, as
    # `flask reviews recount` does.
    recount()


# The reviewer's item-by-item verdicts (refportal.applications.verdicts) on half the files assigned to
# them (the even ids): education, work and training verified; on every other one of those, the RSC needs
# more from the applicant. Each is on the file's audit trail, as reviews.verification records it.
VERIFIED = ("education", "work", "training")
RSC_NEEDS_MORE = "Add the number of your RSC provider's endorsement: the credential given could not be found."


def add_verdicts(conn: sa.Connection, files: list[int], reviewer_id: int) -> None:
    verdicts, events = (db.metadata.tables[t] for t in ("requirement_verdict", "audit_event"))
    rows = []
    for i in files:
        given = [(requirement, "verified", "") for requirement in VERIFIED]
        if i % 4 == 2:
            given.append(("rsc", "needs_more", RSC_NEEDS_MORE))
        for requirement, verdict, reason in given:
            rows.append(
                dict(application_id=i, requirement=requirement, verdict=verdict, reason=reason, recorded_at=utcnow())
            )
    if not rows:
        return
    conn.execute(verdicts.insert(), [dict(row, version=1, cycle=1, reviewer_id=reviewer_id) for row in rows])
    conn.execute(
        events.insert(),
        [
            dict(
                occurred_at=row["recorded_at"],
                actor_id=reviewer_id,
                action="review.verdict_recorded",
                object_type="application",
                object_id=row["application_id"],
                details={"requirement": row["requirement"], "verdict": row["verdict"], "version": 1, "round": 1},
            )
            for row in rows
        ],
    )
