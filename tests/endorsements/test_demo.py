"""The demo data has a registry a person can look at (listed endorsees, one who is not listed), an
endorsee whose renewal window is open and one whose endorsement lapsed."""

from __future__ import annotations

import sqlalchemy as sa

from refportal.db import utc_today
from refportal.demo import seed_demo_data
from refportal.endorsements.lifecycle import EndorsementStatus
from refportal.endorsements.models import Endorsement
from refportal.extensions import db
from refportal.mail.models import OutboxEmail


def test_the_demo_registry(app, client):
    with app.app_context():
        seed_demo_data()
        db.session.commit()
        endorsements = db.session.scalars(sa.select(Endorsement).order_by(Endorsement.issued_on)).all()
        status = {e.holder.name: e.status for e in endorsements}
        assert status == {
            "Dev Patel": EndorsementStatus.ACTIVE,
            "Gia Romano": EndorsementStatus.ACTIVE,
            "Hal Nguyen": EndorsementStatus.ACTIVE,
            "Imani Brooks": EndorsementStatus.ACTIVE,
            "Jo Park": EndorsementStatus.RENEWAL_DUE,
            "Kim Osei": EndorsementStatus.LAPSED,
        }
        assert all(e.issued_on < utc_today() for e in endorsements)
        notices = {(m.to_address, m.template) for m in db.session.scalars(sa.select(OutboxEmail))}
        assert ("jo@example.org", "endorsement_renewal_open") in notices
        assert ("kim@example.org", "endorsement_lapsed") in notices
        imani = next(e.number for e in endorsements if e.holder.name == "Imani Brooks")
    page = client.get("/registry/").get_data(as_text=True)
    assert "Gia Romano" in page and "Ann Arbor, Michigan" in page and "Hal Nguyen" in page and "Dev Patel" in page
    assert "Imani" not in page and "Kim Osei" not in page  # not listed; lapsed
    assert "Jo Park" in page  # in force while her renewal is due
    verification = client.get(f"/registry/{imani}").get_data(as_text=True)
    assert "Valid today" in verification and "Imani" not in verification
