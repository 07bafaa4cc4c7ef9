"""The review rounds' stored progress (refportal/reviews/progress.py): after every kind of change it equals
the progress counted from every application (the page's former query), at every threshold and on any
day; bulk changes outside `change_files` are refused; `flask reviews recount` repairs rows written around
the ORM; transactions at once on PostgreSQL end exact; the page reads no application, in a fixed number
of statements."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from refportal.accounts.models import Role, User
from refportal.applications.models import Application
from refportal.applications.services import withdraw_application
from refportal.db import utc_today, utcnow
from refportal.extensions import db
from refportal.reviews import progress
from refportal.reviews.decisions import apply_decision, record_review
from refportal.reviews.models import Decision, Review, ReviewAssignment, ReviewFileProgress, ReviewRound, RoundTally
from refportal.reviews.progress import (
    UntrackedChange,
    change_files,
    computed_progress,
    recount,
    refresh_pending,
    stored_progress,
)
from refportal.reviews.rounds import delete_round, rounds_with_progress
from refportal.submission.services import submit_application
from tests.builders import logged_in
from tests.reviews.helpers import open_round, reviewers, round_id, statements_for, submitted_files, user_id
from tests.support import migrating_app, require, run_together

FAR_FUTURE = date(2199, 1, 1)  # every round's reviews are overdue by then


def assert_exact(app) -> dict[int, progress.RoundProgress]:
    """The stored progress equals the count of every application at thresholds 1 to 3, today and once every
    round is overdue; the file rows are the source tables' and the tallies count the file rows."""
    with app.app_context():
        for per_file in (1, 2, 3):
            for today in (utc_today(), FAR_FUTURE):
                assert stored_progress(per_file, today) == computed_progress(per_file, today), (per_file, today)
        ids = list(db.session.scalars(sa.select(Application.id)))
        rows = db.session.execute(sa.select(progress.FILES)).all()
        stored = {row[0]: progress.FileState(*row[1:]) for row in rows}
        assert stored == progress.current_states(db.session.connection(), ids)
        counted = db.session.execute(
            sa.select(ReviewFileProgress.round_id, ReviewFileProgress.assignments, ReviewFileProgress.reviews)
            .add_columns(ReviewFileProgress.decided, sa.func.count())
            .group_by(ReviewFileProgress.round_id, ReviewFileProgress.assignments)
            .group_by(ReviewFileProgress.reviews, ReviewFileProgress.decided)
        ).all()
        tallies = db.session.execute(
            sa.select(RoundTally.round_id, RoundTally.assignments, RoundTally.reviews, RoundTally.decided)
            .add_columns(RoundTally.files)
            .where(RoundTally.files != 0)
        ).all()
        assert sorted(map(tuple, counted)) == sorted(map(tuple, tallies))
        shown = stored_progress(app.config["REVIEWERS_PER_FILE"], utc_today())
        db.session.rollback()
        return shown


def counts(page: str) -> list[str]:
    """The five numbers of the rounds page's first row."""
    row = page.split("<tbody>")[1].split("</tr>")[0]
    return [cell.split("<")[0] for cell in row.split('<td class="num">')[1:]]


def test_joining_assigning_and_unassigning_keep_the_counts_exact(app, people):
    admin = logged_in(app, "admin@example.org")
    assert_exact(app)
    open_round(admin)  # the fixture's file joins (create_round's bulk UPDATE)
    rid = round_id(app)
    assert assert_exact(app)[rid] == progress.RoundProgress(1, 1, 0, 0, 0)
    files = submitted_files(app, 4)  # each joins on its own (the ORM)
    assert assert_exact(app)[rid].files == 5
    reviewers(app, 3)
    admin.submit(f"/review/rounds/{rid}/auto-assign", {}, form_url=f"/review/rounds/{rid}")
    assert assert_exact(app)[rid] == progress.RoundProgress(5, 5, 0, 0, 0)
    assert counts(admin.get("/review/rounds").get_data(as_text=True)) == ["5", "5", "0", "0", "0"]
    file_url = f"/review/applications/{files[0]}"
    with app.app_context():
        assignment = db.session.scalars(sa.select(ReviewAssignment).where(ReviewAssignment.application_id == files[0]))
        first = assignment.first()
        assert first is not None
        reviewer, assignment_id = first.reviewer_id, first.id
    admin.submit(f"{file_url}/assignments/{assignment_id}/remove", {}, form_url=file_url)
    assert assert_exact(app)[rid].assigned == 4
    admin.submit(f"{file_url}/assignments", {"reviewer": str(reviewer)}, form_url=file_url)
    assert assert_exact(app)[rid].assigned == 5


def test_reviews_a_new_cycle_and_decisions_keep_the_counts_exact(app, people):
    app.config["REVIEW_AUTO_DECIDE"] = False
    admin = logged_in(app, "admin@example.org")
    open_round(admin)
    rid, file_id = round_id(app), people["application_id"]
    url = f"/review/applications/{file_id}"
    for email in ("rev@example.org", "rev2@example.org"):
        logged_in(app, email).submit(
            f"{url}/review", {"outcome": "more_information", "notes": "", "message": "Add your hours."}, form_url=url
        )
        assert_exact(app)
    assert assert_exact(app)[rid] == progress.RoundProgress(1, 1, 1, 0, 0)
    with app.app_context():  # "more information": a new cycle, whose reviews are still to come
        application = db.session.get(Application, file_id)
        apply_decision(
            application=application, outcome=Decision.MORE_INFORMATION, message="Add your hours.", actor=None
        )
        db.session.commit()
    assert assert_exact(app)[rid] == progress.RoundProgress(1, 1, 0, 0, 0)
    with app.app_context():  # resubmitted: reviewed again in its second cycle, then decided
        application = db.session.get(Application, file_id)
        submit_application(application=application, actor=application.applicant, today=utc_today())
        db.session.commit()
        assert application.review_cycle == 2
        for email in ("rev@example.org", "rev2@example.org"):
            reviewer = db.session.scalars(sa.select(User).where(User.email == email)).one()
            record_review(application=application, reviewer=reviewer, outcome=Decision.ENDORSE, notes="", message="")
            db.session.commit()
            assert_exact(app)
        apply_decision(application=application, outcome=Decision.ENDORSE, message="", actor=None)
        db.session.commit()
    assert assert_exact(app)[rid] == progress.RoundProgress(1, 1, 1, 1, 0)
    assert counts(admin.get("/review/rounds").get_data(as_text=True)) == ["1", "1", "1", "1", "0"]


def test_withdrawal_recusal_and_a_deleted_round_keep_the_counts_exact(app, people):
    admin = logged_in(app, "admin@example.org")
    open_round(admin)
    rid, file_id = round_id(app), people["application_id"]
    url = f"/review/applications/{file_id}"
    logged_in(app, "rev@example.org").submit(f"{url}/recuse", {"reason": "I know her"}, form_url=url)
    assert assert_exact(app)[rid] == progress.RoundProgress(1, 0, 0, 0, 0)  # a bulk DELETE, through change_files
    [other] = submitted_files(app, 1)
    with app.app_context():
        application = db.session.get(Application, other)
        withdraw_application(application=application, actor=application.applicant)
        db.session.commit()
    assert assert_exact(app)[rid].files == 1
    open_round(admin, name="Empty", opens_on=date(2190, 1, 1), deadline=date(2190, 2, 1), due=date(2190, 3, 1))
    with app.app_context():
        empty = db.session.scalars(sa.select(ReviewRound).where(ReviewRound.name == "Empty")).one()
        delete_round(review_round=empty, actor=db.session.scalars(sa.select(User).where(User.role == Role.ADMIN)).one())
        db.session.commit()
    assert set(assert_exact(app)) == {rid}


def test_the_threshold_and_the_due_date_apply_when_reading(app, people):
    """REVIEWERS_PER_FILE changes what counts as assigned and reviewed without a recount; overdue comes
    from today's date, never stored."""
    admin = logged_in(app, "admin@example.org")
    today = utc_today()
    open_round(admin, opens_on=today - timedelta(days=60), deadline=today, due=today + timedelta(days=1))
    rid = round_id(app)
    assert counts(admin.get("/review/rounds").get_data(as_text=True)) == ["1", "1", "0", "0", "0"]
    app.config["REVIEWERS_PER_FILE"] = 3
    assert counts(admin.get("/review/rounds").get_data(as_text=True)) == ["1", "0", "0", "0", "0"]
    with app.app_context():
        db.session.get(ReviewRound, rid).review_due = today - timedelta(days=1)
        db.session.commit()
    assert counts(admin.get("/review/rounds").get_data(as_text=True)) == ["1", "0", "0", "0", "1"]
    assert_exact(app)


def test_a_change_is_counted_when_read_in_its_own_transaction(app, people):
    app.config["REVIEWERS_PER_FILE"] = 1
    admin = logged_in(app, "admin@example.org")
    open_round(admin)
    [file_id] = submitted_files(app, 1)
    with app.app_context():
        rita = user_id(app, "rev@example.org")
        db.session.add(ReviewAssignment(application_id=file_id, reviewer_id=rita))
        [(_, before)] = rounds_with_progress(utc_today())  # not committed yet
        assert before.files == 2 and before.assigned == 2
        db.session.rollback()  # and a rollback takes the change and its count away
    assert assert_exact(app)[round_id(app)].assigned == 1


def test_a_bulk_change_outside_change_files_is_refused(app, people):
    with app.app_context():
        for statement in (
            sa.delete(ReviewAssignment),
            sa.update(Review).values(cycle=3),
            sa.update(Application).values(status="withdrawn"),
            sa.update(Application.__table__).values(review_round_id=None),
            sa.insert(ReviewAssignment).values(application_id=people["application_id"], reviewer_id=1),
        ):
            with pytest.raises(UntrackedChange, match="change_files"):
                db.session.execute(statement)
            db.session.rollback()
        # Columns the progress does not depend on may change in bulk (the API's changed_at, a review's lock).
        db.session.execute(sa.update(Application).values(changed_at=utcnow()))
        db.session.execute(sa.update(Review).values(locked_at=None))
        db.session.rollback()


def test_recount_repairs_rows_written_around_the_orm(app, people, runner):
    admin = logged_in(app, "admin@example.org")
    open_round(admin)
    submitted_files(app, 3)
    with app.app_context(), db.engine.begin() as conn:  # as bulk data or a hand-made fix would
        conn.execute(sa.delete(ReviewAssignment.__table__))
        conn.execute(sa.update(RoundTally.__table__).values(files=RoundTally.files + 7))
        conn.execute(sa.delete(ReviewFileProgress.__table__).where(ReviewFileProgress.application_id != 1))
    checked = runner.invoke(args=["reviews", "recount", "--check"])
    assert checked.exit_code == 1 and "1 differing from a count of every application" in checked.output
    with app.app_context():
        done = recount()
    assert done == progress.Recount(files=4, tallies=2), done  # both tally rows were 7 too many
    assert assert_exact(app)[round_id(app)] == progress.RoundProgress(4, 0, 0, 0, 0)
    again = runner.invoke(args=["reviews", "recount"])
    assert again.exit_code == 0, again.output
    assert "file rows corrected 0, tally rows corrected 0" in again.output
    assert "1 round(s), 0 differing" in again.output


def test_the_migration_counts_the_progress_of_an_upgraded_database(tmp_path, postgres_schema):
    """Rows of the revision before: after `flask db upgrade` the stored progress is the counted one."""
    tables = db.metadata.tables
    with migrating_app(tmp_path, postgres_schema):
        upgrade(revision="c4f8a2d6e1b9")
        with db.engine.begin() as conn:  # as the portal left them (Core: the ORM's watch is not involved)
            conn.execute(
                tables["user_account"].insert(),
                [{"id": n, "email": f"u{n}@example.org", "name": f"U {n}", "password_hash": "x"} for n in range(1, 5)],
            )
            today = utc_today()
            rounds = [(1, "Past", today - timedelta(days=90)), (2, "Now", today + timedelta(days=30))]
            conn.execute(
                tables["review_round"].insert(),
                [
                    {"id": i, "name": name, "opens_on": due - timedelta(days=60)}
                    | {"submission_deadline": due - timedelta(days=30), "review_due": due}
                    for i, name, due in rounds
                ],
            )
            statuses = ["submitted", "endorsed", "withdrawn", "more_info_requested", "submitted", "denied"]
            conn.execute(
                tables["application"].insert(),
                [
                    {"id": n, "applicant_id": 1, "credential": "imh-e", "category": 2, "status": status}
                    | {"review_round_id": 1 + n % 2, "review_round": 1 + n % 3}
                    for n, status in enumerate(statuses, start=1)
                ]
                + [
                    {"id": 7, "applicant_id": 1, "credential": "imh-e", "category": 2, "status": "draft"}
                    | {"review_round_id": None, "review_round": 1}
                ],
            )
            conn.execute(
                tables["review_assignment"].insert(),
                [{"application_id": a, "reviewer_id": r} for a in (1, 2, 3, 4, 5) for r in (2, 3) if a + r != 7],
            )
            conn.execute(
                tables["review"].insert(),
                [
                    {"application_id": a, "reviewer_id": r, "round": cycle, "outcome": "endorse"}
                    for a, cycle in ((1, 2), (2, 3), (4, 2), (5, 3), (6, 1))
                    for r in (2, 3)
                ],
            )
        upgrade()
        for per_file in (1, 2, 3):
            for day in (today, FAR_FUTURE):
                assert stored_progress(per_file, day) == computed_progress(per_file, day)
        assert sum(p.files for p in stored_progress(2, today).values()) == 5


# ---------------------------------------------------------------------------------------------
# Transactions at once (PostgreSQL)


def _needs_postgres(postgres_schema) -> None:
    if postgres_schema is None:
        require("PostgreSQL", "transactions at once need a database that several connections share")


def _wait_until_one_waits_for_a_lock(app) -> None:
    """Until another connection of this database waits for a row lock (at most 10 s)."""
    with app.app_context():
        # Autocommit: pg_stat_activity is read once per transaction, so each look is a transaction of its own.
        engine = sa.create_engine(db.engine.url, isolation_level="AUTOCOMMIT")
    try:
        deadline = time.monotonic() + 10
        with engine.connect() as conn:
            while time.monotonic() < deadline:
                waiting = conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                ).scalar_one()
                if waiting:
                    return
                time.sleep(0.02)
        raise AssertionError("the second transaction never waited for the first's lock")
    finally:
        engine.dispose()


def _interleaved(app, first_change, second_change) -> list:
    """The first transaction makes its change and refreshes (taking its locks); the second makes its change
    and commits, waiting on a lock until the first commits."""
    refreshed = threading.Event()

    def first():
        with app.app_context():
            first_change()
            refresh_pending()
            refreshed.set()
            _wait_until_one_waits_for_a_lock(app)
            db.session.commit()

    def second():
        with app.app_context():
            refreshed.wait(10)
            second_change()
            db.session.commit()

    return run_together(first, second)


def test_two_transactions_assigning_one_file_at_once_count_both(app, people, postgres_schema):
    _needs_postgres(postgres_schema)
    open_round(logged_in(app, "admin@example.org"))
    file_id = people["application_id"]
    with app.app_context():
        change_files(sa.delete(ReviewAssignment))
        db.session.commit()
    reviewers(app, 2)
    r0, r1 = user_id(app, "r0@example.org"), user_id(app, "r1@example.org")
    results = _interleaved(
        app,
        lambda: db.session.add(ReviewAssignment(application_id=file_id, reviewer_id=r0)),
        lambda: db.session.add(ReviewAssignment(application_id=file_id, reviewer_id=r1)),
    )
    assert results == [None, None]
    assert assert_exact(app)[round_id(app)] == progress.RoundProgress(1, 1, 0, 0, 0)


def test_a_file_joining_its_round_while_it_is_assigned_counts_the_assignment(app, people, postgres_schema):
    """The file has no row yet: the application's own row lock orders the two transactions."""
    _needs_postgres(postgres_schema)
    with app.app_context():
        change_files(sa.delete(ReviewAssignment))
        db.session.commit()
    open_round(logged_in(app, "admin@example.org"))
    rid, file_id = round_id(app), people["application_id"]
    with app.app_context():
        change_files(sa.update(Application).values(review_round_id=None))
        db.session.commit()
    assert assert_exact(app)[rid].files == 0
    rita = user_id(app, "rev@example.org")

    def join():
        db.session.get(Application, file_id).review_round_id = rid

    results = _interleaved(
        app, join, lambda: db.session.add(ReviewAssignment(application_id=file_id, reviewer_id=rita))
    )
    assert results == [None, None]
    with app.app_context():
        assert db.session.get(ReviewFileProgress, file_id).assignments == 1
    assert assert_exact(app)[rid] == progress.RoundProgress(1, 0, 0, 0, 0)


def test_many_transactions_on_one_rounds_files_end_exact(app, people, postgres_schema):
    _needs_postgres(postgres_schema)
    admin = logged_in(app, "admin@example.org")
    open_round(admin)
    files = submitted_files(app, 6)
    reviewers(app, 4)
    ids = [user_id(app, f"r{n}@example.org") for n in range(4)]

    def worker(k: int):
        def run():
            with app.app_context():
                for step in range(6):
                    file_id = files[(k + step) % len(files)]
                    reviewer = ids[(k * 3 + step) % len(ids)]
                    existing = db.session.scalars(
                        sa.select(ReviewAssignment).where(
                            ReviewAssignment.application_id == file_id, ReviewAssignment.reviewer_id == reviewer
                        )
                    ).first()
                    if existing is None:
                        db.session.add(ReviewAssignment(application_id=file_id, reviewer_id=reviewer))
                    else:
                        db.session.add(
                            Review(application_id=file_id, reviewer_id=reviewer, cycle=1, outcome=Decision.ENDORSE)
                        )
                    try:
                        db.session.commit()
                    except sa.exc.IntegrityError:  # the same pair at once from two workers: one is kept
                        db.session.rollback()
            return k

        return run

    assert sorted(run_together(*(worker(k) for k in range(6)))) == list(range(6))
    assigned = assert_exact(app)[round_id(app)]
    with app.app_context():
        assert assigned.files == 7 and db.session.scalar(sa.select(sa.func.count(ReviewAssignment.id))) > 6


# ---------------------------------------------------------------------------------------------
# What the page costs


def _page_statements(app, browser) -> list[str]:
    seen: list[str] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", keep)
    try:
        assert browser.get("/review/rounds").status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", keep)
    return seen


def test_the_page_costs_the_same_statements_whatever_the_rounds_and_files(app, people):
    rita = logged_in(app, "rev@example.org")
    admin = logged_in(app, "admin@example.org")
    empty = (statements_for(app, rita, "/review/rounds"), statements_for(app, admin, "/review/rounds"))
    open_round(admin)
    for n in range(3):
        year = 2190 + n
        open_round(admin, name=f"R{n}", opens_on=date(year, 1, 1), deadline=date(year, 2, 1), due=date(year, 3, 1))
    submitted_files(app, 30)
    reviewers(app, 2)
    rid = round_id(app)
    admin.submit(f"/review/rounds/{rid}/auto-assign", {}, form_url=f"/review/rounds/{rid}")
    full = (statements_for(app, rita, "/review/rounds"), statements_for(app, admin, "/review/rounds"))
    # A reviewer: the signed-in user and the rounds with their progress; an administrator also the latest
    # deadline for the next round's suggestion.
    assert empty == full == (2, 3), (empty, full)
    [rounds_statement] = [s for s in _page_statements(app, rita) if "review_round_tally" in s]
    assert "application" not in rounds_statement  # no application is read, however many there are


def test_the_pages_statement_reads_the_rounds_and_their_tallies_by_index(app, people, postgres_schema):
    _needs_postgres(postgres_schema)
    admin = logged_in(app, "admin@example.org")
    open_round(admin)
    submitted_files(app, 5)
    with app.app_context():
        statement = progress.rounds_with_tallies(ReviewRound, per_file=2).order_by(
            ReviewRound.submission_deadline.desc()
        )
        sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
        with db.engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL enable_seqscan = off"))  # tiny tables: is there an index path?
            plan = "\n".join(conn.execute(sa.text(f"EXPLAIN {sql}")).scalars())
    assert "Seq Scan" not in plan, plan
    assert "review_round_tally" in plan and " application" not in plan, plan


def test_objects_deleted_after_their_attributes_expired_are_counted(app, people):
    """A row loaded in one transaction and deleted in the next (its attributes expired by the commit)
    still names its file to the refresh, without loading a row that is gone."""
    admin = logged_in(app, "admin@example.org")
    open_round(admin)
    rid = round_id(app)
    reviewers(app, 3)
    admin.submit(f"/review/rounds/{rid}/auto-assign", {}, form_url=f"/review/rounds/{rid}")
    assert assert_exact(app)[rid].assigned == 1
    with app.app_context():
        assignment = db.session.scalars(sa.select(ReviewAssignment)).first()
        db.session.commit()  # every attribute expired
        db.session.delete(assignment)
        db.session.commit()
    assert assert_exact(app)[rid].assigned == 0
