"""Conflicts of interest (found, or declared by recusing) and who may open, review or act on a file."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from flask import current_app

from refportal.accounts.models import Role, User
from refportal.applications.models import Application
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.references.models import Reference
from refportal.reviews.models import Recusal, ReviewAssignment


def conflicts_of(application: Application, reviewers: Iterable[User]) -> dict[int, list[str]]:
    """For each reviewer, why they may not review this file (empty: none). Causes: they are the
    applicant; they work at the organisation the applicant gave as their employer; their address is one
    of the applicant's referees (on any application, in any state); they recused themselves from any of
    the applicant's applications. Two statements whatever the number of reviewers."""
    reviewers = list(reviewers)
    emails = [reviewer.email.lower() for reviewer in reviewers]
    referees_of, recusals_of = _conflict_statements()
    applicant = {"applicant_id": application.applicant_id}
    referees = db.session.execute(referees_of, {**applicant, "emails": emails}).all()
    recusals = db.session.execute(recusals_of, {**applicant, "reviewer_ids": [r.id for r in reviewers]}).all()
    return conflict_causes(application, reviewers, referees, recusals)


@functools.cache
def _conflict_statements() -> tuple[sa.Select, sa.Select]:
    """conflicts_of's two statements, built once: a request binds the applicant, addresses and reviewers."""
    applicant_id: sa.BindParameter[int] = sa.bindparam("applicant_id")
    return (
        referees_statement(applicant_id, sa.bindparam("emails", expanding=True)),
        recusals_statement(applicant_id, sa.bindparam("reviewer_ids", expanding=True)),
    )


def referees_statement(applicant_id: Any, emails: Any) -> sa.Select:
    """The applicant's referees (of any application) whose address is one of `emails` (lower-cased):
    (lower-cased address, status, application id). The arguments may be bound parameters."""
    return (
        sa.select(sa.func.lower(Reference.email), Reference.status, Reference.application_id)
        .join(Application, Reference.application_id == Application.id)
        .where(Application.applicant_id == applicant_id, sa.func.lower(Reference.email).in_(emails))
    )


def recusals_statement(applicant_id: Any, reviewer_ids: Any) -> sa.Select:
    """The recusals of `reviewer_ids` from any of the applicant's applications: (reviewer id, application
    id, reason), oldest first. The arguments may be bound parameters."""
    return (
        sa.select(Recusal.reviewer_id, Recusal.application_id, Recusal.reason)
        .join(Application, Recusal.application_id == Application.id)
        .where(Application.applicant_id == applicant_id, Recusal.reviewer_id.in_(reviewer_ids))
        .order_by(Recusal.id)
    )


def conflict_causes(
    application: Application,
    reviewers: list[User],
    referees: Iterable[Sequence[Any]],
    recusals: Iterable[Sequence[Any]],
) -> dict[int, list[str]]:
    """`conflicts_of` from the rows of its two statements (referees_statement, recusals_statement)."""
    causes: dict[int, list[str]] = {reviewer.id: [] for reviewer in reviewers}
    by_email = {reviewer.email.lower(): reviewer.id for reviewer in reviewers}
    employer = _organisation_key(application.employer)
    for reviewer in reviewers:
        if reviewer.id == application.applicant_id:
            causes[reviewer.id].append("is the applicant")
        if employer and _organisation_key(reviewer.organisation) == employer:
            causes[reviewer.id].append(f"works at the applicant's organisation ({application.employer})")
    for email, status, application_id in referees:
        where = "this application" if application_id == application.id else f"application {application_id}"
        causes[by_email[email]].append(f"is one of the applicant's referees ({status.label.lower()}, {where})")
    # A recusal is from the person, not the one file: it covers every application of the applicant.
    for reviewer_id, application_id, reason in recusals:
        where = "" if application_id == application.id else f" from application {application_id}"
        causes[reviewer_id].append(f"recused{where}: {reason}")
    return causes


def _organisation_key(name: str | None) -> str:
    """An organisation's name as compared: case and spacing ignored."""
    return " ".join((name or "").casefold().split())


def conflicts_with(application: Application, reviewer: User) -> list[str]:
    return conflicts_of(application, [reviewer])[reviewer.id]


def is_assigned(application: Application, user: User) -> bool:
    return (
        db.session.scalar(
            sa.select(ReviewAssignment.id).where(
                ReviewAssignment.application_id == application.id, ReviewAssignment.reviewer_id == user.id
            )
        )
        is not None
    )


def may_open_file(application: Application, user: User) -> bool:
    """Administrators open every file; a reviewer their assigned ones, and the others (read-only)
    when REVIEWERS_READ_UNASSIGNED is on."""
    return user.role is Role.ADMIN or current_app.config["REVIEWERS_READ_UNASSIGNED"] or is_assigned(application, user)


def check_unconflicted(application: Application, user: User) -> None:
    """Refused for a staff member with a conflict of interest with the file (they act on nothing in it)."""
    conflicts = conflicts_with(application, user)
    if conflicts:
        raise Refused(f"You have a conflict of interest with this file ({'; '.join(conflicts)}): you cannot act on it.")


def check_may_review(application: Application, reviewer: User) -> None:
    """Refused unless the reviewer is assigned to the file and has no conflict with it."""
    check_unconflicted(application, reviewer)
    if not is_assigned(application, reviewer):
        raise Refused("Only the reviewers assigned to this file can review it. Ask an administrator to assign you.")
