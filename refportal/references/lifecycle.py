"""The reference lifecycle in one table: (state, event) → state. Every service changes a reference's
state through `transition()` (or a conditional UPDATE whose allowed states come from `sources()`),
and views and templates ask the model's named predicates (`reference.can_remind`, `can_replace`, …)
instead of comparing states themselves.

    nominated ─invite─▶ invited ─open─▶ opened ─save draft─▶ in_progress ─submit─▶ submitted
    (a request to reuse an earlier rating: invited / opened ─confirm reuse─▶ submitted)
    side exits: decline → declined, bounce → bounced, expire → expired,
                correct e-mail / replace → withdrawn (a new reference takes over),
                cancel → cancelled (the application was withdrawn or decided)
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from refportal.exceptions import Refused

if TYPE_CHECKING:
    from refportal.references.models import Reference


class ReferenceStatus(enum.Enum):
    NOMINATED = "nominated"
    INVITED = "invited"
    OPENED = "opened"
    IN_PROGRESS = "in_progress"  # a draft is saved
    SUBMITTED = "submitted"
    DECLINED = "declined"
    BOUNCED = "bounced"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"  # replaced, or its e-mail corrected: the link no longer works
    CANCELLED = "cancelled"  # the application was withdrawn or decided: the request ended

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


S = ReferenceStatus


class Event(enum.Enum):
    INVITE = "invite"  # the request (or, after a correction or replacement, the new one) is sent
    OPEN = "open"  # the referee opens the link (GET: recorded once, decides nothing)
    SAVE_DRAFT = "save_draft"
    SUBMIT = "submit"
    CONFIRM_REUSE = "confirm_reuse"  # the referee confirms their earlier rating for this application
    DECLINE = "decline"
    REMIND = "remind"  # the same link again
    EXPIRE = "expire"  # the link outlived REFERENCE_LINK_MAX_AGE
    FRESH_LINK = "fresh_link"  # after expiry, a new link to the same address
    BOUNCE = "bounce"  # a mail server refused the request for good
    CORRECT_EMAIL = "correct_email"  # the applicant fixes the address: this reference is withdrawn
    REPLACE = "replace"  # the applicant nominates someone else: this reference is withdrawn
    CANCEL = "cancel"  # the application was withdrawn or decided: the request ends


# The link works in these: the referee may save, submit or decline. (After a bounce the referee may
# have received the message anyway.)
LINK_WORKS = frozenset({S.INVITED, S.OPENED, S.IN_PROGRESS, S.BOUNCED})
# Asked and not answered: reminders go out, the link may expire or bounce.
AWAITING_ANSWER = frozenset({S.INVITED, S.OPENED, S.IN_PROGRESS})
# Not answered yet, whether asked or not.
UNANSWERED = frozenset({S.NOMINATED, *LINK_WORKS, S.EXPIRED})
# No longer one of the application's three.
ENDED = frozenset({S.WITHDRAWN, S.CANCELLED})

# (state, event) → state. A pair missing here is refused.
TRANSITIONS: dict[tuple[ReferenceStatus, Event], ReferenceStatus] = {
    (S.NOMINATED, Event.INVITE): S.INVITED,
    (S.INVITED, Event.OPEN): S.OPENED,
    (S.BOUNCED, Event.OPEN): S.OPENED,
    **{(state, Event.SAVE_DRAFT): S.IN_PROGRESS for state in LINK_WORKS},
    **{(state, Event.SUBMIT): S.SUBMITTED for state in LINK_WORKS},
    **{(state, Event.CONFIRM_REUSE): S.SUBMITTED for state in LINK_WORKS},
    **{(state, Event.DECLINE): S.DECLINED for state in LINK_WORKS},
    **{(state, Event.REMIND): state for state in AWAITING_ANSWER},
    **{(state, Event.EXPIRE): S.EXPIRED for state in AWAITING_ANSWER},
    **{(state, Event.FRESH_LINK): S.INVITED for state in (*LINK_WORKS, S.EXPIRED)},
    **{(state, Event.BOUNCE): S.BOUNCED for state in AWAITING_ANSWER},
    (S.NOMINATED, Event.CORRECT_EMAIL): S.NOMINATED,  # not asked yet: the address is edited in place
    **{(state, Event.CORRECT_EMAIL): S.WITHDRAWN for state in UNANSWERED - {S.NOMINATED}},
    **{(state, Event.REPLACE): S.WITHDRAWN for state in UNANSWERED | {S.DECLINED}},
    (S.SUBMITTED, Event.REPLACE): S.WITHDRAWN,  # only a rating that does not count (see can_replace)
    **{(state, Event.CANCEL): S.CANCELLED for state in UNANSWERED},
}

# A link issued to a reference that keeps a draft (carried over from a corrected address, or saved
# before the link expired) lands in progress rather than invited.
RESUMES_DRAFT = frozenset({Event.INVITE, Event.FRESH_LINK})

REFUSALS = {
    Event.INVITE: "This referee has been asked already.",
    Event.OPEN: "This link no longer leads to the rating form.",
    Event.SAVE_DRAFT: "This request can no longer be answered.",
    Event.SUBMIT: "This request can no longer be answered.",
    Event.CONFIRM_REUSE: "This request can no longer be answered.",
    Event.DECLINE: "This request can no longer be answered.",
    Event.REMIND: "Only a referee who has been asked and has not answered yet can be reminded.",
    Event.EXPIRE: "Only an unanswered request can expire.",
    Event.FRESH_LINK: "A fresh link is sent only for an unanswered request.",
    Event.BOUNCE: "Only a request waiting for an answer can bounce.",
    Event.CORRECT_EMAIL: "This referee has answered already; their address can no longer be changed.",
    Event.REPLACE: "This referee's rating counts toward your three: it cannot be replaced.",
    Event.CANCEL: "This request has ended already.",
}


class TransitionRefused(Refused):
    """The event is not allowed in the reference's state."""


def sources(event: Event) -> frozenset[ReferenceStatus]:
    """Every state in which `event` is allowed (for conditional UPDATEs)."""
    return frozenset(state for state, on in TRANSITIONS if on is event)


def uniform_target(event: Event) -> ReferenceStatus:
    """The one state `event` leads to from every state that allows it (for conditional UPDATEs)."""
    targets = {after for (_, on), after in TRANSITIONS.items() if on is event}
    if len(targets) != 1:
        raise ValueError(f"{event} leads to several states: {targets}")
    return targets.pop()


def target(reference: Reference, event: Event) -> ReferenceStatus:
    """The state `event` leads to from the reference's state, or TransitionRefused."""
    if not allows(reference, event):
        raise TransitionRefused(REFUSALS[event])
    after = TRANSITIONS[(reference.status, event)]
    if event in RESUMES_DRAFT and reference.draft:
        return S.IN_PROGRESS
    return after


def allows(reference: Reference, event: Event) -> bool:
    if (reference.status, event) not in TRANSITIONS:
        return False
    if event is Event.REPLACE and reference.status is S.SUBMITTED:
        return not reference.counts  # a rating that counts stays
    return True


def transition(reference: Reference, event: Event) -> ReferenceStatus:
    """Move the reference on (TransitionRefused if the table has no such move); returns the state before."""
    before = reference.status
    reference.status = target(reference, event)
    return before
