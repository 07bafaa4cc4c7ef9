"""The demo data has a registry a person can look at: two listed endorsees, one who is not listed."""

from __future__ import annotations

import sqlalchemy as sa

from refportal.db import utc_today
from refportal.demo import seed_demo_data
from refportal.endorsements.models import Endorsement
from refportal.extensions import db


def test_the_demo_registry(app, client):
    with app.app_context():
        seed_demo_data()
        db.session.commit()
        endorsements = db.session.scalars(sa.select(Endorsement).order_by(Endorsement.issued_on)).all()
        assert len(endorsements) == 4  # Dev's, Gia's, Hal's and Imani's
        assert all(e.issued_on < utc_today() and e.period_ends_on > utc_today() for e in endorsements)
        imani = next(e.number for e in endorsements if e.holder.name == "Imani Brooks")
    page = client.get("/registry/").get_data(as_text=True)
    assert "Gia Romano" in page and "Ann Arbor, Michigan" in page and "Hal Nguyen" in page and "Dev Patel" in page
    assert "Imani" not in page
    verification = client.get(f"/registry/{imani}").get_data(as_text=True)
    assert "Valid today" in verification and "Imani" not in verification
