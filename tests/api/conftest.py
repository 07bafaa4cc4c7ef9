from __future__ import annotations

import pytest

from refportal.accounts.models import Role
from refportal.api.keys import create_key
from refportal.api.models import Scope
from refportal.extensions import db
from tests.builders import make_submitted_application
from tests.factories import make_user


@pytest.fixture
def api_world(app):
    """Applicant A's submitted application (three ratings), a draft of B's, an admin, and three keys:
    read, roster-only, and a revoked read key."""
    with app.app_context():
        from tests.factories import make_application

        a = make_user(email="a@example.org", name="Applicant A")
        b = make_user(email="b@example.org", name="Applicant B")
        admin = make_user(email="admin@example.org", name="Alex Admin", role=Role.ADMIN)
        submitted = make_submitted_application(a)
        draft = make_application(b, category=1)
        _, read = create_key(name="CRM", scopes=[Scope.READ_APPLICATIONS], actor=admin)
        _, roster = create_key(name="Membership system", scopes=[Scope.WRITE_ROSTER], actor=admin)
        revoked_key, revoked = create_key(name="Old", scopes=[Scope.READ_APPLICATIONS], actor=admin)
        _, both = create_key(name="Everything", scopes=list(Scope), actor=admin)
        from refportal.db import utcnow

        revoked_key.revoked_at = utcnow()
        db.session.commit()
        return {
            "submitted": submitted.id,
            "draft": draft.id,
            "read": read,
            "roster": roster,
            "revoked": revoked,
            "all": both,
        }
