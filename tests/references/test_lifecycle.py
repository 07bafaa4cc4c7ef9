"""The reference lifecycle table: every (state, event) pair is either a listed move or refused with
a message a person understands; the services follow it."""

from __future__ import annotations

import pytest

from refportal.references.lifecycle import (
    REFUSALS,
    TRANSITIONS,
    Event,
    ReferenceStatus,
    TransitionRefused,
    target,
    transition,
)
from refportal.references.models import Rating, Reference

S = ReferenceStatus
E = Event

# The lifecycle as the product describes it, written out independently of the code's table:
# each row a state, each entry "event: next state". Anything not listed is refused.
EXPECTED = {
    S.NOMINATED: {E.INVITE: S.INVITED, E.CORRECT_EMAIL: S.NOMINATED, E.REPLACE: S.WITHDRAWN, E.CANCEL: S.CANCELLED},
    S.INVITED: {
        E.OPEN: S.OPENED,
        E.SAVE_DRAFT: S.IN_PROGRESS,
        E.SUBMIT: S.SUBMITTED,
        E.CONFIRM_REUSE: S.SUBMITTED,
        E.DECLINE: S.DECLINED,
        E.REMIND: S.INVITED,
        E.EXPIRE: S.EXPIRED,
        E.FRESH_LINK: S.INVITED,
        E.BOUNCE: S.BOUNCED,
        E.CORRECT_EMAIL: S.WITHDRAWN,
        E.REPLACE: S.WITHDRAWN,
        E.CANCEL: S.CANCELLED,
    },
    S.OPENED: {
        E.SAVE_DRAFT: S.IN_PROGRESS,
        E.SUBMIT: S.SUBMITTED,
        E.CONFIRM_REUSE: S.SUBMITTED,
        E.DECLINE: S.DECLINED,
        E.REMIND: S.OPENED,
        E.EXPIRE: S.EXPIRED,
        E.FRESH_LINK: S.INVITED,
        E.BOUNCE: S.BOUNCED,
        E.CORRECT_EMAIL: S.WITHDRAWN,
        E.REPLACE: S.WITHDRAWN,
        E.CANCEL: S.CANCELLED,
    },
    S.IN_PROGRESS: {
        E.SAVE_DRAFT: S.IN_PROGRESS,
        E.SUBMIT: S.SUBMITTED,
        E.CONFIRM_REUSE: S.SUBMITTED,
        E.DECLINE: S.DECLINED,
        E.REMIND: S.IN_PROGRESS,
        E.EXPIRE: S.EXPIRED,
        E.FRESH_LINK: S.INVITED,
        E.BOUNCE: S.BOUNCED,
        E.CORRECT_EMAIL: S.WITHDRAWN,
        E.REPLACE: S.WITHDRAWN,
        E.CANCEL: S.CANCELLED,
    },
    S.BOUNCED: {
        E.OPEN: S.OPENED,
        E.SAVE_DRAFT: S.IN_PROGRESS,
        E.SUBMIT: S.SUBMITTED,
        E.CONFIRM_REUSE: S.SUBMITTED,
        E.DECLINE: S.DECLINED,
        E.FRESH_LINK: S.INVITED,
        E.CORRECT_EMAIL: S.WITHDRAWN,
        E.REPLACE: S.WITHDRAWN,
        E.CANCEL: S.CANCELLED,
    },
    S.EXPIRED: {E.FRESH_LINK: S.INVITED, E.CORRECT_EMAIL: S.WITHDRAWN, E.REPLACE: S.WITHDRAWN, E.CANCEL: S.CANCELLED},
    S.SUBMITTED: {E.REPLACE: S.WITHDRAWN},  # only while the rating does not count
    S.DECLINED: {E.REPLACE: S.WITHDRAWN},
    S.WITHDRAWN: {},
    S.CANCELLED: {},
}


def reference_in(state: ReferenceStatus, *, draft: dict | None = None, counting: bool = False) -> Reference:
    reference = Reference(status=state, draft=draft)
    if state is S.SUBMITTED:
        reference.rating = Rating(counts=counting)
    return reference


def test_the_table_is_the_lifecycle_the_product_describes():
    assert {(state, event): after for state, moves in EXPECTED.items() for event, after in moves.items()} == TRANSITIONS


@pytest.mark.parametrize("event", list(Event), ids=lambda e: e.value)
@pytest.mark.parametrize("state", list(ReferenceStatus), ids=lambda s: s.value)
def test_every_state_and_event(state, event):
    reference = reference_in(state)
    expected = EXPECTED[state].get(event)
    if expected is None:
        with pytest.raises(TransitionRefused) as refused:
            transition(reference, event)
        assert refused.value.message == REFUSALS[event] and refused.value.message.endswith(".")
        assert reference.status is state  # nothing changed
    else:
        assert transition(reference, event) is state
        assert reference.status is expected


def test_a_rating_that_counts_cannot_be_replaced():
    with pytest.raises(TransitionRefused, match="counts toward your three"):
        target(reference_in(S.SUBMITTED, counting=True), Event.REPLACE)
    assert target(reference_in(S.SUBMITTED, counting=False), Event.REPLACE) is S.WITHDRAWN


@pytest.mark.parametrize("event", [Event.INVITE, Event.FRESH_LINK])
def test_a_new_link_to_a_reference_with_a_draft_resumes_it(event):
    state = S.NOMINATED if event is Event.INVITE else S.EXPIRED
    assert target(reference_in(state, draft={"items": {}}), event) is S.IN_PROGRESS
    assert target(reference_in(state), event) is S.INVITED


def test_the_predicates_follow_the_table():
    asked = reference_in(S.OPENED)
    assert asked.can_remind and asked.can_correct_email and asked.can_replace and asked.link_works
    assert not asked.can_remove and not asked.awaits_request and not asked.has_ended
    nominated = reference_in(S.NOMINATED)
    assert nominated.can_remove and nominated.awaits_request and not nominated.can_remind
    bounced = reference_in(S.BOUNCED)
    assert bounced.has_bounced and bounced.link_works and not bounced.can_remind and not bounced.is_awaiting_answer
    not_counting = reference_in(S.SUBMITTED)
    assert not_counting.rating_not_counted and not_counting.can_replace and not not_counting.can_correct_email
    for ended in (S.WITHDRAWN, S.CANCELLED):
        reference = reference_in(ended)
        assert reference.has_ended and not (reference.can_remind or reference.can_replace or reference.link_works)


def test_the_applicant_is_refused_a_reminder_to_a_referee_who_answered(app, sent, browser, outbox):
    from tests.references.helpers import full_answers, referee_path, references, submit_rating

    submit_rating(app.test_client(), referee_path(outbox, "sam@example.net"), full_answers())
    submitted = next(r for r in references(app) if r.email == "sam@example.net")
    url = f"/applications/{sent.id}/references/"
    page = browser.submit(f"{url}{submitted.id}/remind", {}, form_url=url, follow_redirects=True)
    assert REFUSALS[Event.REMIND] in page.get_data(as_text=True)
    assert "Send a reminder" not in _card(browser.get(url).get_data(as_text=True), "Sam Supervisor")


def _card(page: str, name: str) -> str:
    start = page.index(f">{name}</a>")
    return page[start : page.index("</section>", start)]
