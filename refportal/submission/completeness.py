"""What a complete application file is: one rule, read by the applicant's checklist and submit button,
by the reviewer's file page, and (as SQL) by the queue's complete/incomplete filter.

Each requirement is done, waiting, or to do:
- eligibility: done when every threshold of the category is met: by the evidence entries (the portal sums
  them: applications.evidence), or for an application from before entries, by the totals recorded;
- membership: done once verified (by a reviewer or from the association's roster), for a current
  membership and for one the applicant takes out with the application ("will join") alike; declared and
  not verified yet, it waits on the association or a reviewer; missing, rejected or lapsed, it is to do;
- references: done with three counted ratings.
The file is complete when every requirement is done; the applicant may submit when none is to do (a
membership still waiting for verification does not hold the submission back: it is verified during the
review). `membership_progress` is the membership rule; `complete_clause` is built from it."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date

import sqlalchemy as sa

from refportal.applications.eligibility import eligible_clause, evaluate_eligibility, is_eligible
from refportal.applications.models import Application
from refportal.applications.verdicts import OPEN, Requirement, RequirementVerdict, Verdict, open_verdict_exists
from refportal.membership.models import MembershipDeclaration, MembershipKind, MembershipStatus
from refportal.references.models import Rating, Reference, ReferenceStatus
from refportal.references.nomination import REFERENCES_PER_APPLICATION, active_references, counted_references


class Progress(enum.Enum):
    DONE = "done"
    WAITING = "waiting"  # the applicant's part is done; the association or a reviewer confirms it
    TODO = "todo"

    @property
    def label(self) -> str:
        return {"done": "Done", "waiting": "Waiting", "todo": "To do"}[self.value]


def membership_progress(status: MembershipStatus | None) -> Progress:
    """The membership requirement, from the declaration's status on the day (None: not declared)."""
    if status is MembershipStatus.VERIFIED:
        return Progress.DONE
    if status is MembershipStatus.DECLARED:
        return Progress.WAITING
    return Progress.TODO  # not declared, rejected, or lapsed


def references_progress(counted: int) -> Progress:
    return Progress.DONE if counted >= REFERENCES_PER_APPLICATION else Progress.TODO


@dataclass(frozen=True)
class ChecklistItem:
    label: str
    progress: Progress
    detail: str

    @property
    def done(self) -> bool:
        return self.progress is Progress.DONE


@dataclass(frozen=True)
class Completeness:
    items: tuple[ChecklistItem, ...]

    @property
    def complete(self) -> bool:
        """Every requirement is done: what the queue's "complete" filter selects."""
        return all(item.progress is Progress.DONE for item in self.items)

    @property
    def ready_to_submit(self) -> bool:
        """Nothing is left for the applicant to do (a membership may still wait for verification)."""
        return all(item.progress is not Progress.TODO for item in self.items)

    @property
    def missing(self) -> list[ChecklistItem]:
        """What the applicant must still do."""
        return [item for item in self.items if item.progress is Progress.TODO]


def completeness_of(
    application: Application,
    today: date,
    requirements: dict,
    verdicts: Mapping[Requirement, RequirementVerdict] | None = None,
) -> Completeness:
    """The file's requirements, each done, waiting or to do, with what is missing in words. `verdicts`:
    the reviewers' current verdicts (applications.verdicts.current_verdicts); those of the current cycle
    count: one not verified or needing more makes its item to do (with the reason), a verified one says
    who verified it."""
    items: tuple[ChecklistItem, ...] = (
        _eligibility_item(application, requirements),
        _membership_item(application, today),
        _references_item(application),
    )
    if verdicts:
        current = [v for v in verdicts.values() if v.cycle == application.review_cycle]
        items = tuple(
            _with_verdicts(item, [v for v in current if v.requirement.checklist_label == item.label]) for item in items
        )
    return Completeness(items)


def _with_verdicts(item: ChecklistItem, verdicts: list[RequirementVerdict]) -> ChecklistItem:
    if not verdicts:
        return item
    verdicts = sorted(verdicts, key=lambda v: list(Requirement).index(v.requirement))
    notes = []
    for v in verdicts:
        if v.verdict is Verdict.VERIFIED:
            who = v.reviewer.name if v.reviewer else "a former reviewer"
            notes.append(f"{v.requirement.label.lower()} verified by {who}")
        else:
            notes.append(f"{v.requirement.label.lower()} {v.verdict.label.lower()}: {v.reason}")
    progress = Progress.TODO if any(v.verdict in OPEN for v in verdicts) else item.progress
    return replace(item, progress=progress, detail=f"{item.detail}; {'; '.join(notes)}")


def _eligibility_item(application: Application, requirements: dict) -> ChecklistItem:
    if application.from_entries:
        if application.portfolio_id is None:
            return ChecklistItem("Eligibility", Progress.TODO, "Not recorded yet")
    elif not application.eligibility_recorded:
        return ChecklistItem("Eligibility", Progress.TODO, "Not recorded yet")
    checks = evaluate_eligibility(application, requirements)
    if is_eligible(checks):
        return ChecklistItem("Eligibility", Progress.DONE, "Every requirement is met")
    if application.from_entries:  # each unmet requirement with what the entries make and what it needs
        unmet = "; ".join(f"{c.label.lower()} ({c.recorded}; needs {c.required})" for c in checks if not c.met)
    else:
        unmet = ", ".join(c.label.lower() for c in checks if not c.met)
    return ChecklistItem("Eligibility", Progress.TODO, f"Not met: {unmet}")


def _membership_item(application: Application, today: date) -> ChecklistItem:
    declaration = application.membership
    if declaration is None:
        return ChecklistItem("Membership", membership_progress(None), "Not declared yet")
    status = declaration.status_on(today)
    progress = membership_progress(status)
    joining = declaration.kind is MembershipKind.WILL_JOIN
    name = declaration.association_label
    if status is MembershipStatus.DECLARED and joining:
        detail = (
            f"{name}: joining with this application (the membership fee is added); waiting for the "
            "association's roster or a reviewer to confirm the new membership"
        )
    elif status is MembershipStatus.DECLARED:
        detail = f"{name}: declared, waiting for verification (the association's roster or a reviewer)"
    elif status is MembershipStatus.VERIFIED:
        detail = f"{name}: {'joined, ' if joining else ''}verified"
        if declaration.expires_on:
            detail += f", valid until {declaration.expires_on:%d %B %Y}"
    elif status is MembershipStatus.EXPIRED:
        detail = f"{name}: expired"
        if declaration.expires_on:
            detail += f" on {declaration.expires_on:%d %B %Y}"
    else:
        detail = f"{name}: {status.label.lower()}"
        if declaration.verification_note:
            detail += f" ({declaration.verification_note})"
    return ChecklistItem("Membership", progress, detail)


def _references_item(application: Application) -> ChecklistItem:
    active = active_references(application)
    counted = len(counted_references(application))
    progress = references_progress(counted)
    if not active:
        return ChecklistItem("References", progress, f"Not yet nominated (0 of {REFERENCES_PER_APPLICATION})")
    if progress is Progress.DONE:
        return ChecklistItem("References", progress, "Three ratings are in")
    waiting = sum(1 for r in active if r.status is ReferenceStatus.NOMINATED)
    detail = f"{counted} of {REFERENCES_PER_APPLICATION} ratings in"
    if len(active) < REFERENCES_PER_APPLICATION:
        detail += f"; {len(active)} of {REFERENCES_PER_APPLICATION} referees nominated"
    elif waiting:
        detail += "; requests not sent yet"
    return ChecklistItem("References", progress, detail)


# ---------------------------------------------------------------------------------------------
# The same rule in SQL (the queue)


def counted_ratings() -> sa.ScalarSelect[int]:
    """The application's counted ratings (`len(counted_references(application))`), correlated to Application."""
    return (
        sa.select(sa.func.count(Reference.id))
        .join(Rating, Rating.reference_id == Reference.id)
        .where(
            Reference.application_id == Application.id,
            Reference.status == ReferenceStatus.SUBMITTED,
            Rating.counts.is_(True),
        )
        .correlate(Application)
        .scalar_subquery()
    )


def complete_clause(today: date, requirements: dict) -> sa.ColumnElement[bool]:
    """`completeness_of(application, today, requirements).complete` in SQL, never NULL (so its negation
    selects the incomplete files). The query must outer-join MembershipDeclaration on the application."""
    membership_done = sa.and_(
        MembershipDeclaration.id.is_not(None),  # FALSE, not NULL, without a declaration: "incomplete" lists it
        sa.or_(
            *(
                MembershipDeclaration.status_on_is(status, today)
                for status in MembershipStatus
                if membership_progress(status) is Progress.DONE
            )
        ),
    )
    return sa.and_(
        eligible_clause(requirements),
        membership_done,
        counted_ratings() >= REFERENCES_PER_APPLICATION,
        sa.not_(open_verdict_exists()),  # no reviewer's verdict of the cycle holds an item back
    )
