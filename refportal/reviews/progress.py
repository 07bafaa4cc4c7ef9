"""The review rounds' progress, stored: a row per file (`ReviewFileProgress`: its round, its reviewers,
the reviews of its current cycle, decided or not) and, per round, how many files have each combination
(`RoundTally`), so the rounds page reads a few rows per round whatever the number of applications.

One function keeps both: `refresh_files(ids)` recomputes those applications from the source tables and
moves the differences into their rounds' tallies. No service calls it: a session event collects every
application whose status, round or review cycle changed and every application whose assignments or
reviews were added or removed through the ORM, and refreshes them when the transaction commits (`watch`).
A bulk UPDATE or DELETE of those tables goes through `change_files`, which refreshes what it touched;
any other is refused (`UntrackedChange`). `recount()` (`flask reviews recount`) repairs everything from
the source tables: after rows written around the ORM (the benchmark's bulk data, a hand-made fix).

`computed_progress` is the same progress counted from every application, as the page did before: the
reference the stored counts are tested against."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction

from refportal.applications.lifecycle import DECIDED, ApplicationStatus
from refportal.applications.models import Application
from refportal.extensions import db
from refportal.reviews.models import Review, ReviewAssignment, ReviewFileProgress, ReviewRound, RoundTally
from refportal.transactions import unit_of_work

BATCH = 1000  # applications refreshed per statement
PENDING = "refportal.reviews.progress"  # session.info: the applications to refresh before the commit
TRACKED = "review_progress"  # the execution option `change_files` marks its statements with

FILES = cast("sa.Table", ReviewFileProgress.__table__)
TALLY = cast("sa.Table", RoundTally.__table__)


# ---------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class RoundProgress:
    files: int
    assigned: int  # files with every reviewer they need
    reviewed: int  # files with that many reviews in their current cycle
    decided: int
    overdue: int  # past the due date, neither decided nor fully reviewed


def round_progress(
    files: int, assigned: int, reviewed: int, decided: int, settled: int, *, review_due: date, today: date
) -> RoundProgress:
    """A round's progress from its tally's sums (`progress_columns`): once the reviews are due, every file
    neither decided nor fully reviewed (not settled) is overdue."""
    return RoundProgress(files, assigned, reviewed, decided, files - settled if review_due < today else 0)


def progress_columns(per_file: int) -> list[sa.Label[Any]]:
    """The sums over a round's tally rows (joined to its round and grouped by it): its files; those with
    `per_file` reviewers (assigned); with `per_file` reviews of their current cycle (reviewed); decided;
    and decided or reviewed (settled)."""

    def files(having: sa.ColumnElement[bool] | None = None) -> sa.ColumnElement[Any]:
        counted = RoundTally.files if having is None else sa.case((having, RoundTally.files), else_=0)
        return sa.func.coalesce(sa.func.sum(counted), 0)

    reviewed = RoundTally.reviews >= per_file
    return [
        files().label("files"),
        files(RoundTally.assignments >= per_file).label("assigned"),
        files(reviewed).label("reviewed"),
        files(RoundTally.decided.is_(True)).label("decided"),
        files(sa.or_(RoundTally.decided.is_(True), reviewed)).label("settled"),
    ]


def round_files(per_file: int) -> sa.Subquery:
    """Each file in a round (withdrawn ones aside), counted from the source tables: its round, and 1/0 for
    having every reviewer it needs, that many reviews in its current cycle, and a decision."""
    staffed = (
        sa.select(ReviewAssignment.application_id)
        .group_by(ReviewAssignment.application_id)
        .having(sa.func.count() >= per_file)
        .subquery()
    )
    reviewed = (
        sa.select(Review.application_id, Review.cycle)
        .group_by(Review.application_id, Review.cycle)
        .having(sa.func.count() >= per_file)
        .subquery()
    )
    return (
        sa.select(
            Application.review_round_id.label("round_id"),
            sa.case((staffed.c.application_id.is_not(None), 1), else_=0).label("assigned"),
            sa.case((reviewed.c.application_id.is_not(None), 1), else_=0).label("reviewed"),
            sa.case((Application.status.in_(DECIDED), 1), else_=0).label("decided"),
        )
        .outerjoin(staffed, staffed.c.application_id == Application.id)
        .outerjoin(
            reviewed,
            sa.and_(reviewed.c.application_id == Application.id, reviewed.c.cycle == Application.review_cycle),
        )
        .where(Application.review_round_id.is_not(None), Application.status != ApplicationStatus.WITHDRAWN)
        .subquery()
    )


def computed_progress(per_file: int, today: date) -> dict[int, RoundProgress]:
    """Every round's progress counted from every application (the stored tallies' reference)."""
    files = round_files(per_file)
    settled = sa.case((sa.or_(files.c.decided == 1, files.c.reviewed == 1), 1), else_=0)
    rows = db.session.execute(
        sa.select(
            ReviewRound.id,
            ReviewRound.review_due,
            sa.func.count(files.c.round_id),
            sa.func.coalesce(sa.func.sum(files.c.assigned), 0),
            sa.func.coalesce(sa.func.sum(files.c.reviewed), 0),
            sa.func.coalesce(sa.func.sum(files.c.decided), 0),
            sa.func.coalesce(sa.func.sum(settled), 0),
        )
        .outerjoin(files, files.c.round_id == ReviewRound.id)
        .group_by(ReviewRound.id, ReviewRound.review_due)
    ).all()
    return _by_round(rows, today)


def _by_round(rows: Sequence[Any], today: date) -> dict[int, RoundProgress]:
    """Rows of (round id, its due date, files, assigned, reviewed, decided, settled) as progress by round."""
    return {row[0]: round_progress(*(int(n) for n in row[2:]), review_due=row[1], today=today) for row in rows}


def rounds_with_tallies(*columns: Any, per_file: int) -> sa.Select[Any]:
    """`columns` of every round (the round's own) with its tally's sums (`progress_columns`): one row per
    round, from the rounds and their few tally rows (no application is read)."""
    return (
        sa.select(*columns, *progress_columns(per_file))
        .outerjoin(RoundTally, RoundTally.round_id == ReviewRound.id)
        .group_by(ReviewRound.id)
    )


def stored_progress(per_file: int, today: date) -> dict[int, RoundProgress]:
    """Every round's progress as stored (what the rounds page shows), by round id."""
    refresh_pending()
    rows = db.session.execute(rounds_with_tallies(ReviewRound.id, ReviewRound.review_due, per_file=per_file)).all()
    return _by_round(rows, today)


# ---------------------------------------------------------------------------------------------
# Keeping the stored rows


@dataclass(frozen=True, order=True)
class FileState:
    """Where a file stands: the key of its round's tally row it is counted in."""

    round_id: int
    assignments: int
    reviews: int
    decided: bool


def current_states(connection: sa.Connection, ids: Sequence[int]) -> dict[int, FileState]:
    """These applications as the source tables have them now (those in a round and not withdrawn)."""
    assignments = sa.select(sa.func.count()).where(ReviewAssignment.application_id == Application.id)
    reviews = sa.select(sa.func.count()).where(
        Review.application_id == Application.id, Review.cycle == Application.review_cycle
    )
    rows = connection.execute(
        sa.select(
            Application.id,
            Application.review_round_id,
            Application.status,
            assignments.scalar_subquery(),
            reviews.scalar_subquery(),
        ).where(
            Application.id.in_(ids),
            Application.review_round_id.is_not(None),
            Application.status != ApplicationStatus.WITHDRAWN,
        )
    )
    return {row.id: FileState(row[1], row[3], row[4], row.status in DECIDED) for row in rows}


def refresh_files(connection: sa.Connection, ids: Iterable[int]) -> int:
    """Recompute these applications' rows from the source tables and move the differences into their
    rounds' tallies; returns how many rows changed. Constant work per application.

    Exact with any number of transactions at once (PostgreSQL, READ COMMITTED): each first locks the
    applications' rows (FOR NO KEY UPDATE, in id order), then their stored rows (FOR UPDATE: an
    application deleted has only that one), and keeps the locks until it commits; so of two transactions
    refreshing one file, the second reads in new statements what the first committed: its sources and
    the row it stored, and moves only what is left. (The lock cannot be taken by the statement that reads
    the sources: that statement's snapshot would predate the commit it waited for.) A tally row moves by
    an increment (`files = files + :n`, an upsert), applied by PostgreSQL to the row's latest version,
    in the tally's key order. On SQLite one writer at a time holds the whole database."""
    ordered = sorted(set(ids))
    changed = 0
    for start in range(0, len(ordered), BATCH):
        chunk = ordered[start : start + BATCH]
        connection.execute(
            sa.select(Application.id)
            .where(Application.id.in_(chunk))
            .order_by(Application.id)
            .with_for_update(key_share=True)
        ).all()
        stored = {
            row.application_id: FileState(row.round_id, row.assignments, row.reviews, row.decided)
            for row in connection.execute(
                sa.select(FILES)
                .where(FILES.c.application_id.in_(chunk))
                .order_by(FILES.c.application_id)
                .with_for_update()
            )
        }
        changed += _store(connection, stored, current_states(connection, chunk))
    return changed


def _store(connection: sa.Connection, stored: dict[int, FileState], current: dict[int, FileState]) -> int:
    """Write the rows that changed and move their files between tally rows."""
    moves: Counter[FileState] = Counter()
    added: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []
    gone: list[dict[str, Any]] = []
    for application_id in sorted(stored.keys() | current.keys()):
        before, after = stored.get(application_id), current.get(application_id)
        if before == after:
            continue
        if before is not None:
            moves[before] -= 1
        if after is not None:
            moves[after] += 1
        values = {"file": application_id}
        if after is not None:
            values |= {"round": after.round_id, "n_a": after.assignments, "n_r": after.reviews, "d": after.decided}
        (added if before is None else gone if after is None else moved).append(values)
    if gone:
        connection.execute(sa.delete(FILES).where(FILES.c.application_id == sa.bindparam("file")), gone)
    row: dict[str, Any] = {
        "round_id": sa.bindparam("round"),
        "assignments": sa.bindparam("n_a"),
        "reviews": sa.bindparam("n_r"),
        "decided": sa.bindparam("d"),
    }
    if moved:
        connection.execute(sa.update(FILES).where(FILES.c.application_id == sa.bindparam("file")).values(row), moved)
    if added:
        connection.execute(sa.insert(FILES).values(application_id=sa.bindparam("file"), **row), added)
    increments = [
        {"round_id": key.round_id, "assignments": key.assignments, "reviews": key.reviews, "decided": key.decided}
        | {"files": n}
        for key, n in sorted(moves.items())
        if n
    ]
    if increments:
        connection.execute(_tally_increment(connection), increments)
    return len(added) + len(moved) + len(gone)


def _tally_increment(connection: sa.Connection) -> Any:
    """INSERT a tally row, or add to its files when it is there (the increment of `refresh_files`)."""
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = insert(TALLY)
    return statement.on_conflict_do_update(
        index_elements=[TALLY.c.round_id, TALLY.c.assignments, TALLY.c.reviews, TALLY.c.decided],
        set_={"files": TALLY.c.files + statement.excluded.files},
    )


def refresh_pending(session: Session | None = None) -> None:
    """Refresh now the files this transaction changed (before reading the tallies in it, and when it
    commits)."""
    session = session if session is not None else db.session()
    session.flush()
    files = session.info.pop(PENDING, None)
    if files:
        refresh_files(session.connection(), files)


def queue_files(ids: Iterable[int], session: Session | None = None) -> None:
    """These applications' progress is refreshed before the transaction commits."""
    session = session if session is not None else db.session()
    session.info.setdefault(PENDING, set()).update(i for i in ids if i is not None)


def change_files(statement: sa.Update | sa.Delete) -> list[int]:
    """Run a bulk UPDATE or DELETE of applications, assignments or reviews (the ORM's changes are watched,
    a bulk statement's are not): the applications it touched are refreshed with the transaction. Returns
    their ids (one per row changed)."""
    table = statement.table
    key = table.c.id if getattr(table, "name", None) == "application" else table.c.application_id
    ids = list(db.session.scalars(statement.returning(key).execution_options(**{TRACKED: True})))
    queue_files(ids)
    return ids


class UntrackedChange(RuntimeError):
    """A bulk statement changed what the rounds' progress counts without going through `change_files`."""


# The columns of each source table the progress depends on: a bulk UPDATE setting one, or any bulk
# INSERT or DELETE of the table, must go through `change_files`.
WATCHED_COLUMNS = {
    "application": {"id", "status", "review_round_id", "review_round"},
    "review_assignment": {"id", "application_id"},
    "review": {"id", "application_id", "round"},
}


def _set_columns(state: ORMExecuteState) -> set[str] | None:
    """The names of the columns an UPDATE sets (None when they cannot be told)."""
    statement: Any = state.statement
    keys: set[str] = set()
    keys |= {getattr(k, "name", str(k)) for k in statement._values or {}}
    parameters: Any = state.parameters
    for params in parameters if isinstance(parameters, list) else [parameters or {}]:
        keys |= {str(k) for k in params}
    return keys or None


def _refuse_untracked(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert) or state.execution_options.get(TRACKED):
        return
    table = getattr(state.statement, "table", None)
    watched = WATCHED_COLUMNS.get(getattr(table, "name", ""))
    if watched is None:
        return
    if state.is_update:
        columns = _set_columns(state)
        if columns is not None and not columns & watched:
            return
    raise UntrackedChange(
        f"a bulk {'UPDATE' if state.is_update else 'DELETE' if state.is_delete else 'INSERT'} of {table.name} "  # type: ignore[union-attr]
        "changes the review rounds' progress: run it through refportal.reviews.progress.change_files"
    )


def _collect(session: Session, flush_context: UOWTransaction) -> None:
    """After each flush: the applications whose progress the flushed changes may have moved."""
    files: set[int] = set()
    for obj in session.new:
        if isinstance(obj, Application):
            if obj.review_round_id is not None:
                files.add(obj.id)
        elif isinstance(obj, ReviewAssignment | Review):
            files.add(obj.application_id)
    for obj in session.dirty:
        if isinstance(obj, Application):
            state = sa.inspect(obj)
            moved = state.attrs.review_round_id.history.has_changes() or state.attrs.review_round.history.has_changes()
            changed = state.attrs.status.history.has_changes() or state.attrs.review_cycle.history.has_changes()
            if moved or (changed and state.dict.get("review_round_id", 0) is not None):
                files.add(obj.id)
        elif isinstance(obj, ReviewAssignment | Review):
            state = sa.inspect(obj)
            history = state.attrs.application_id.history
            if history.has_changes() or (isinstance(obj, Review) and state.attrs.cycle.history.has_changes()):
                files.update([*history.deleted, obj.application_id])
    for obj in session.deleted:
        if isinstance(obj, Application):
            files.add(obj.id)
        elif isinstance(obj, ReviewAssignment | Review):
            files.add(obj.application_id)
    if files:
        queue_files(files, session)


def _refresh_before_commit(session: Session) -> None:
    refresh_pending(session)


def _forget_at_the_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended (committed or rolled back)
        session.info.pop(PENDING, None)


def watch() -> None:
    """Keep the progress with every transaction of the session (once; in create_app)."""
    for event, listener in (
        ("after_flush", _collect),
        ("before_commit", _refresh_before_commit),
        ("after_transaction_end", _forget_at_the_end),
        ("do_orm_execute", _refuse_untracked),
    ):
        if not sa.event.contains(db.session, event, listener):
            sa.event.listen(db.session, event, listener)


# ---------------------------------------------------------------------------------------------
# Repair


@dataclass(frozen=True)
class Recount:
    files: int  # file rows corrected from the source tables
    tallies: int  # tally rows corrected from the file rows


def recount() -> Recount:
    """Every file's row from the source tables, then every tally row from the file rows: after rows were
    written around the ORM (bulk data, a hand-made fix). Safe while the portal runs: the files are
    refreshed `BATCH` at a time, each batch in its own transaction; the tallies are counted again under a
    lock that holds back the increments of other transactions meanwhile. (Call it outside a request.)"""
    with unit_of_work():
        ids = list(
            db.session.scalars(
                sa.select(Application.id)
                .where(Application.review_round_id.is_not(None))
                .union(sa.select(FILES.c.application_id))
                .order_by(sa.literal_column("1"))
            )
        )
    files = 0
    for start in range(0, len(ids), BATCH):
        with unit_of_work():
            files += refresh_files(db.session.connection(), ids[start : start + BATCH])
    with unit_of_work():
        tallies = _recount_tallies(db.session.connection())
    return Recount(files=files, tallies=tallies)


def _recount_tallies(connection: sa.Connection) -> int:
    """Every tally row counted again from the file rows; returns how many were wrong."""
    if connection.dialect.name == "postgresql":
        # Holds back every increment (ROW EXCLUSIVE) until this commits; an increment held back belongs to
        # a file row not committed yet, so not counted below either.
        connection.execute(sa.text("LOCK TABLE review_round_tally IN EXCLUSIVE MODE"))
    key = (FILES.c.round_id, FILES.c.assignments, FILES.c.reviews, FILES.c.decided)
    counted = {tuple(row[:4]): row[4] for row in connection.execute(sa.select(*key, sa.func.count()).group_by(*key))}
    tally_key = (TALLY.c.round_id, TALLY.c.assignments, TALLY.c.reviews, TALLY.c.decided)
    stored = {tuple(row[:4]): row[4] for row in connection.execute(sa.select(*tally_key, TALLY.c.files))}
    wrong = sorted(k for k in counted.keys() | stored.keys() if counted.get(k, 0) != stored.get(k, 0))
    fixes = [{"r": r, "a": a, "v": v, "d": d, "n": counted.get((r, a, v, d), 0)} for r, a, v, d in wrong]
    present = [f for f in fixes if (f["r"], f["a"], f["v"], f["d"]) in stored]
    absent = [f for f in fixes if (f["r"], f["a"], f["v"], f["d"]) not in stored]
    key_values: dict[str, Any] = {
        "round_id": sa.bindparam("r"),
        "assignments": sa.bindparam("a"),
        "reviews": sa.bindparam("v"),
        "decided": sa.bindparam("d"),
    }
    if present:
        match = sa.and_(*(TALLY.c[name] == value for name, value in key_values.items()))
        connection.execute(sa.update(TALLY).where(match).values(files=sa.bindparam("n")), present)
    if absent:
        connection.execute(sa.insert(TALLY).values(files=sa.bindparam("n"), **key_values), absent)
    connection.execute(sa.delete(TALLY).where(TALLY.c.files == 0))
    return len(fixes)
