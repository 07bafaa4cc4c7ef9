"""The application lifecycle in one table: (state, event) → state. Every service changes an
application's state through `transition()`, which also stamps the dates that go with a state and tells
the packages above of the two changes they act on (`submitted`: the file joins a review round;
`closed`: its referee requests end). Views and templates ask the model's predicates
(`application.is_editable`, `is_active`, `is_under_review`) instead of comparing states.

    draft ─submit─▶ submitted ─request more information─▶ more information requested ─submit─▶ submitted
    submitted ─endorse / defer / deny─▶ endorsed / deferred / denied   (decided: closed)
    draft, submitted, more information requested ─withdraw─▶ withdrawn (closed)
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from blinker import Namespace
from flask import current_app

from refportal.db import utcnow
from refportal.exceptions import Refused

if TYPE_CHECKING:
    from refportal.accounts.models import User
    from refportal.applications.models import Application


class ApplicationStatus(enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    MORE_INFO_REQUESTED = "more_info_requested"
    ENDORSED = "endorsed"
    DEFERRED = "deferred"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


S = ApplicationStatus


class Event(enum.Enum):
    SUBMIT = "submit"  # the applicant sends the file for review (again, after "more information")
    REQUEST_MORE_INFORMATION = "request_more_information"  # a decision: the applicant adds to the file
    ENDORSE = "endorse"
    DEFER = "defer"
    DENY = "deny"
    WITHDRAW = "withdraw"  # the applicant ends the application


# Handed in and not decided: the reviewers' files.
UNDECIDED = frozenset({S.SUBMITTED, S.MORE_INFO_REQUESTED})
# An applicant has at most one application in these (the one-credential rule).
ACTIVE = frozenset({S.DRAFT, *UNDECIDED})
# The applicant may change the application's details in these.
EDITABLE = frozenset({S.DRAFT, S.MORE_INFO_REQUESTED})
# A decision closes the application; `decided_at` dates it.
DECIDED = frozenset({S.ENDORSED, S.DEFERRED, S.DENIED})
# Nothing more happens to these: their referee requests end.
CLOSED = frozenset({*DECIDED, S.WITHDRAWN})

# (state, event) → state. A pair missing here is refused.
TRANSITIONS: dict[tuple[ApplicationStatus, Event], ApplicationStatus] = {
    **{(state, Event.SUBMIT): S.SUBMITTED for state in EDITABLE},
    (S.SUBMITTED, Event.REQUEST_MORE_INFORMATION): S.MORE_INFO_REQUESTED,
    (S.SUBMITTED, Event.ENDORSE): S.ENDORSED,
    (S.SUBMITTED, Event.DEFER): S.DEFERRED,
    (S.SUBMITTED, Event.DENY): S.DENIED,
    **{(state, Event.WITHDRAW): S.WITHDRAWN for state in ACTIVE},
}

REFUSALS = {
    Event.SUBMIT: "This application has been submitted already.",
    Event.REQUEST_MORE_INFORMATION: "Only a submitted application awaiting a decision can be reviewed or decided.",
    Event.ENDORSE: "Only a submitted application awaiting a decision can be reviewed or decided.",
    Event.DEFER: "Only a submitted application awaiting a decision can be reviewed or decided.",
    Event.DENY: "Only a submitted application awaiting a decision can be reviewed or decided.",
    Event.WITHDRAW: "Only an open application can be withdrawn.",
}

signals = Namespace()
# Sent with the application once it is submitted: the reviews package puts it in its review round.
submitted = signals.signal("application-submitted")
# Sent with the application (and the actor) once it is withdrawn or decided: the references package
# ends its open referee requests.
closed = signals.signal("application-closed")
# Asked with the application when a rating is to be reused for it: a receiver answers the earliest moment
# such a rating may have been given (the endorsements package: the lapse of the endorsement a
# reinstatement reinstates), or None. See `ratings_not_before`.
reuse_cutoff = signals.signal("application-reuse-cutoff")


def ratings_not_before(application: Application) -> datetime | None:
    """The latest of the receivers' answers to `reuse_cutoff`: a rating given before it may not be
    reused for the application (None: no such limit)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    answers = [when for _, when in reuse_cutoff.send(app, application=application) if when is not None]
    return max(answers, default=None)


class TransitionRefused(Refused):
    """The event is not allowed in the application's state."""


def allows(application: Application, event: Event) -> bool:
    return (application.status, event) in TRANSITIONS


def target(application: Application, event: Event) -> ApplicationStatus:
    """The state `event` leads to from the application's state, or TransitionRefused."""
    if not allows(application, event):
        raise TransitionRefused(REFUSALS[event])
    return TRANSITIONS[(application.status, event)]


def transition(application: Application, event: Event, *, actor: User | None) -> ApplicationStatus:
    """Move the application on (TransitionRefused if the table has no such move), stamp the dates of the
    new state, and send `submitted` or `closed`; returns the state before."""
    before, after = application.status, target(application, event)
    application.status = after
    now = utcnow()
    if after is S.SUBMITTED:
        application.submitted_at = now
    if event is Event.REQUEST_MORE_INFORMATION:
        application.review_cycle += 1  # the reviews of the next submission are a new cycle
    if after in DECIDED:
        application.decided_at = now
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the app itself, the signals' sender
    if after is S.SUBMITTED:
        submitted.send(app, application=application)
    if after in CLOSED:
        closed.send(app, application=application, actor=actor)
    return before
