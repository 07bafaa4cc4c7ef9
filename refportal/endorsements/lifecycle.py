"""The endorsement lifecycle in one table: (state, event) → state. An endorsement is issued active when
its application is endorsed; every later change of state goes through `transition()`, which also keeps
the endorsement's history (the status on any past day: the referee's check reads it).

    active ─renewal opens─▶ renewal due ─period ends─▶ grace ─grace ends─▶ lapsed
    active, renewal due, grace ─renew─▶ active (a new period)
    lapsed ─reinstate─▶ active
    active, renewal due, grace ─relinquish─▶ relinquished   (the endorsee gives it up)
    active, renewal due, grace, lapsed ─revoke─▶ revoked    (the association withdraws it)

In force (valid, and listed in the registry where the endorsee agreed): active, renewal due, grace.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from refportal.db import rows_changed, utcnow
from refportal.exceptions import Refused
from refportal.extensions import db

if TYPE_CHECKING:
    from refportal.endorsements.models import Endorsement


class EndorsementStatus(enum.Enum):
    ACTIVE = "active"
    RENEWAL_DUE = "renewal_due"  # the renewal window is open
    GRACE = "grace"  # the period ended without a renewal: still in force until the grace ends
    LAPSED = "lapsed"  # not renewed: out of force and out of the registry
    RELINQUISHED = "relinquished"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


S = EndorsementStatus


class Event(enum.Enum):
    OPEN_RENEWAL = "open_renewal"  # the renewal window opens before the period ends
    END_PERIOD = "end_period"  # the period ended without a renewal
    END_GRACE = "end_grace"  # the grace ended without a renewal
    RENEW = "renew"  # a renewal is accepted: a new period
    REINSTATE = "reinstate"  # a lapsed endorsement is reinstated
    RELINQUISH = "relinquish"
    REVOKE = "revoke"


# Valid: the endorsement counts, and is listed in the registry where its holder agreed.
IN_FORCE = frozenset({S.ACTIVE, S.RENEWAL_DUE, S.GRACE})
# Nothing more happens to these.
FINAL = frozenset({S.RELINQUISHED, S.REVOKED})

# (state, event) → state. A pair missing here is refused.
TRANSITIONS: dict[tuple[EndorsementStatus, Event], EndorsementStatus] = {
    (S.ACTIVE, Event.OPEN_RENEWAL): S.RENEWAL_DUE,
    (S.RENEWAL_DUE, Event.END_PERIOD): S.GRACE,
    (S.GRACE, Event.END_GRACE): S.LAPSED,
    **{(state, Event.RENEW): S.ACTIVE for state in IN_FORCE},
    (S.LAPSED, Event.REINSTATE): S.ACTIVE,
    **{(state, Event.RELINQUISH): S.RELINQUISHED for state in IN_FORCE},
    **{(state, Event.REVOKE): S.REVOKED for state in (*IN_FORCE, S.LAPSED)},
}

REFUSALS = {
    Event.OPEN_RENEWAL: "The renewal window opens only for an active endorsement.",
    Event.END_PERIOD: "Only an endorsement due for renewal can run out of its period.",
    Event.END_GRACE: "Only an endorsement in its grace period can lapse.",
    Event.RENEW: "Only an endorsement in force can be renewed; a lapsed one is reinstated.",
    Event.REINSTATE: "Only a lapsed endorsement can be reinstated.",
    Event.RELINQUISH: "Only an endorsement in force can be relinquished.",
    Event.REVOKE: "This endorsement has ended already.",
}


class TransitionRefused(Refused):
    """The event is not allowed in the endorsement's state."""


def allows(endorsement: Endorsement, event: Event) -> bool:
    return (endorsement.status, event) in TRANSITIONS


def target(endorsement: Endorsement, event: Event) -> EndorsementStatus:
    """The state `event` leads to from the endorsement's state, or TransitionRefused."""
    if not allows(endorsement, event):
        raise TransitionRefused(REFUSALS[event])
    return TRANSITIONS[(endorsement.status, event)]


def transition(endorsement: Endorsement, event: Event, *, at: datetime | None = None) -> EndorsementStatus:
    """Move the endorsement on (TransitionRefused if the table has no such move) and add the change to
    its history; returns the state before.

    A stored endorsement moves by one conditional UPDATE on the state read: if another request or the
    worker moved it meanwhile (two tabs, two staff members), the move is refused, never made twice."""
    from refportal.endorsements.models import Endorsement, EndorsementChange

    before, after = endorsement.status, target(endorsement, event)
    at = at or utcnow()
    if endorsement.id is not None:
        moved = rows_changed(
            db.session,
            sa.update(Endorsement)
            .where(Endorsement.id == endorsement.id, Endorsement.status == before)
            .values(status=after, status_changed_at=at),
        )
        if not moved:
            raise TransitionRefused("This endorsement changed meanwhile: reload the page to see where it stands.")
    endorsement.status, endorsement.status_changed_at = after, at
    db.session.add(EndorsementChange(endorsement=endorsement, status=after, event=event.value, changed_at=at))
    return before
