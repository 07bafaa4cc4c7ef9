"""The one-credential rule at its boundary, with a fixed clock: every kind of decision on the other
credential starts the wait, the latest decision counts, and the other credential opens on day 365."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from refportal.applications.categories import Credential
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.services import check_can_open
from refportal.exceptions import Refused
from tests.factories import ApplicationFactory, UserFactory

DECIDED = datetime(2025, 3, 10, 15, 30, tzinfo=UTC)
DECISIONS = [ApplicationStatus.ENDORSED, ApplicationStatus.DEFERRED, ApplicationStatus.DENIED]


def applicant_with(*decisions: tuple[ApplicationStatus, datetime]):
    """An applicant whose IMH-E applications were decided as given (flushed: the checks run in-process)."""
    user = UserFactory()
    for status, decided_at in decisions:
        ApplicationFactory(applicant=user, credential=Credential.IMH_E, status=status, decided_at=decided_at)
    return user


def may_open(user, now: datetime) -> bool:
    try:
        check_can_open(applicant=user, credential=Credential.ECMH_E, now=now)
    except Refused:
        return False
    return True


@pytest.mark.parametrize("decision", DECISIONS, ids=lambda d: d.value)
def test_any_decision_starts_the_wait_and_day_365_opens_it(app_ctx, decision):
    user = applicant_with((decision, DECIDED))
    assert not may_open(user, DECIDED + timedelta(days=364, hours=23, minutes=59))
    assert may_open(user, DECIDED + timedelta(days=365))


@pytest.mark.parametrize("decision", DECISIONS, ids=lambda d: d.value)
def test_the_latest_of_two_decisions_counts(app_ctx, decision):
    earlier = DECIDED - timedelta(days=500)  # its own wait is long over
    user = applicant_with((ApplicationStatus.DENIED, earlier), (decision, DECIDED))
    assert not may_open(user, DECIDED + timedelta(days=364))
    assert may_open(user, DECIDED + timedelta(days=365))


def test_the_refusal_names_the_day_it_opens(app_ctx):
    user = applicant_with((ApplicationStatus.DEFERRED, DECIDED))
    with pytest.raises(Refused) as refused:
        check_can_open(applicant=user, credential=Credential.ECMH_E, now=DECIDED + timedelta(days=100))
    assert "from 10 March 2026" in refused.value.message and "(10 March 2025)" in refused.value.message


def test_a_withdrawn_application_starts_no_wait(app_ctx):
    user = applicant_with((ApplicationStatus.WITHDRAWN, DECIDED))
    assert may_open(user, DECIDED + timedelta(days=1))
