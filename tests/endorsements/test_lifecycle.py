"""The endorsement lifecycle table: every (state, event) pair is either a listed move or refused with a
message a person understands, and each move is kept in the endorsement's history."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from refportal.applications.categories import Credential
from refportal.endorsements.lifecycle import (
    IN_FORCE,
    REFUSALS,
    TRANSITIONS,
    EndorsementStatus,
    Event,
    TransitionRefused,
    target,
    transition,
)
from refportal.endorsements.models import Endorsement, EndorsementChange
from refportal.extensions import db
from tests.factories import make_user

S = EndorsementStatus
E = Event

# The lifecycle as the domain describes it (renewal every year, notices, lapse, reinstatement;
# relinquished by the endorsee, revoked by the association), written out independently of the table.
EXPECTED = {
    S.ACTIVE: {E.OPEN_RENEWAL: S.RENEWAL_DUE, E.RENEW: S.ACTIVE, E.RELINQUISH: S.RELINQUISHED, E.REVOKE: S.REVOKED},
    S.RENEWAL_DUE: {E.END_PERIOD: S.GRACE, E.RENEW: S.ACTIVE, E.RELINQUISH: S.RELINQUISHED, E.REVOKE: S.REVOKED},
    S.GRACE: {E.END_GRACE: S.LAPSED, E.RENEW: S.ACTIVE, E.RELINQUISH: S.RELINQUISHED, E.REVOKE: S.REVOKED},
    S.LAPSED: {E.REINSTATE: S.ACTIVE, E.REVOKE: S.REVOKED},
    S.RELINQUISHED: {},
    S.REVOKED: {},
}


def test_the_table_is_the_described_lifecycle():
    assert set(EXPECTED) == set(EndorsementStatus)
    assert {(state, event): after for state, moves in EXPECTED.items() for event, after in moves.items()} == TRANSITIONS


def test_in_force_means_valid_and_listable():
    assert {S.ACTIVE, S.RENEWAL_DUE, S.GRACE} == IN_FORCE


@pytest.mark.parametrize("state", list(EndorsementStatus))
@pytest.mark.parametrize("event", list(Event))
def test_every_state_and_event(app_ctx, state, event):
    holder = make_user()
    endorsement = Endorsement(
        number="IMH-0000TEST",
        holder_id=holder.id,
        credential=Credential.IMH_E,
        category=2,
        issued_on=date(2026, 1, 5),
        period_starts_on=date(2026, 1, 5),
        period_ends_on=date(2027, 1, 5),
        status=state,
    )
    db.session.add(endorsement)
    db.session.flush()
    expected = EXPECTED[state].get(event)
    if expected is None:
        with pytest.raises(TransitionRefused) as refused:
            transition(endorsement, event)
        assert refused.value.message == REFUSALS[event]
        assert endorsement.status is state
        assert db.session.scalar(sa.select(sa.func.count(EndorsementChange.id))) == 0
    else:
        assert target(endorsement, event) is expected
        assert transition(endorsement, event) is state
        assert endorsement.status is expected
        db.session.flush()
        change = db.session.scalars(sa.select(EndorsementChange)).one()
        assert (change.status, change.event) == (expected, event.value)
