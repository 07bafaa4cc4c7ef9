"""The application lifecycle table: every (state, event) pair is either a listed move, which stamps its
dates and tells the packages above, or refused with a message a person understands; and no code changes
an application's state except through it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from refportal.applications import lifecycle
from refportal.applications.lifecycle import (
    REFUSALS,
    TRANSITIONS,
    ApplicationStatus,
    Event,
    TransitionRefused,
    transition,
)
from refportal.applications.models import Application

S = ApplicationStatus
E = Event

# The lifecycle as the product describes it, written out independently of the code's table.
EXPECTED = {
    S.DRAFT: {E.SUBMIT: S.SUBMITTED, E.WITHDRAW: S.WITHDRAWN},
    S.SUBMITTED: {
        E.REQUEST_MORE_INFORMATION: S.MORE_INFO_REQUESTED,
        E.ENDORSE: S.ENDORSED,
        E.DEFER: S.DEFERRED,
        E.DENY: S.DENIED,
        E.WITHDRAW: S.WITHDRAWN,
    },
    S.MORE_INFO_REQUESTED: {E.SUBMIT: S.SUBMITTED, E.WITHDRAW: S.WITHDRAWN},
    S.ENDORSED: {},
    S.DEFERRED: {},
    S.DENIED: {},
    S.WITHDRAWN: {},
}


def test_the_table_is_the_lifecycle_the_product_describes():
    assert {(state, event): after for state, moves in EXPECTED.items() for event, after in moves.items()} == TRANSITIONS
    assert set(REFUSALS) == set(Event)


@pytest.mark.parametrize("state", list(ApplicationStatus))
@pytest.mark.parametrize("event", list(Event))
def test_every_state_and_event(app_ctx, state, event):
    application = Application(status=state, review_cycle=1)
    heard: list[tuple[str, object]] = []

    def submitted(sender, *, application):
        heard.append(("submitted", application))

    def closed(sender, *, application, actor):
        heard.append(("closed", application))

    lifecycle.submitted.connect(submitted, sender=app_ctx)
    lifecycle.closed.connect(closed, sender=app_ctx)
    try:
        expected = EXPECTED[state].get(event)
        if expected is None:
            with pytest.raises(TransitionRefused) as refused:
                transition(application, event, actor=None)
            assert refused.value.message == REFUSALS[event]
            assert application.status is state and heard == []
            return
        assert transition(application, event, actor=None) is state
    finally:
        lifecycle.submitted.disconnect(submitted, sender=app_ctx)
        lifecycle.closed.disconnect(closed, sender=app_ctx)
    assert application.status is expected
    assert (application.submitted_at is not None) is (expected is S.SUBMITTED)
    assert (application.decided_at is not None) is (expected in lifecycle.DECIDED)
    assert application.review_cycle == (2 if event is E.REQUEST_MORE_INFORMATION else 1)
    kinds = [kind for kind, _ in heard]
    assert kinds == (["submitted"] if expected is S.SUBMITTED else ["closed"] if expected in lifecycle.CLOSED else [])


def test_the_state_sets_are_made_of_the_table():
    assert {S.SUBMITTED, S.MORE_INFO_REQUESTED} == lifecycle.UNDECIDED
    assert {S.DRAFT, *lifecycle.UNDECIDED} == lifecycle.ACTIVE
    assert set(ApplicationStatus) - lifecycle.ACTIVE == lifecycle.CLOSED
    assert all(not EXPECTED[state] for state in lifecycle.CLOSED)  # nothing happens to a closed application


def test_no_code_sets_an_applications_state_but_the_lifecycle():
    """Every assignment to `.status` of something holding an application, and every UPDATE of
    Application.status, is in applications/lifecycle.py."""
    package = Path(__file__).resolve().parents[2] / "refportal"
    found = []
    for path in package.rglob("*.py"):
        if path.name == "lifecycle.py" and path.parent.name == "applications":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AugAssign)
                else []
            )
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr == "status":
                    holder = ast.unparse(target.value)
                    if "application" in holder.lower():
                        found.append(f"{path.relative_to(package)}:{node.lineno} {ast.unparse(node)}")
            is_values = (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "values"
            )
            if (
                is_values
                and "update(Application)" in ast.unparse(node.func)
                and any(keyword.arg == "status" for keyword in node.keywords)
            ):
                found.append(f"{path.relative_to(package)}:{node.lineno} UPDATE of Application.status")
    assert found == []
