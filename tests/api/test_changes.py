"""Which audited actions move an application's changed_at (what the API's changed_since reports)."""

from __future__ import annotations

from refportal.api.changes import REPORTED
from refportal.api.webhooks import EVENTS
from refportal.audit.actions import AuditAction


def test_every_change_of_an_application_its_references_or_membership_is_reported():
    """A new action about an application, a reference or a membership must be placed in REPORTED (or this
    test changed on purpose): nothing about them goes unreported by accident."""
    about_applications = {a for a in AuditAction if a.value.split(".")[0] in ("application", "reference", "membership")}
    assert about_applications == REPORTED


def test_every_webhook_event_comes_from_an_audited_action():
    assert set(EVENTS) <= set(AuditAction)
