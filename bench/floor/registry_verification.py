"""/registry/<number>: one endorsement's verification page, anonymous (one statement, as refportal)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, abort, render_template

from floor.common import connect
from refportal.accounts.models import User
from refportal.applications.categories import MentorTrack, category_name
from refportal.db import utc_today
from refportal.endorsements.models import Endorsement, RegistryListing

IN_FORCE = ("active", "renewal_due", "grace")


def register(app: Flask) -> None:
    @app.get("/registry/<number>")
    def registry_verification(number: str):
        with connect() as conn:
            row = conn.execute(
                sa.select(
                    Endorsement.number,
                    Endorsement.credential,
                    Endorsement.category,
                    Endorsement.mentor_track,
                    Endorsement.status,
                    Endorsement.period_starts_on,
                    Endorsement.period_ends_on,
                    User.name,
                    User.deactivated_at,
                    RegistryListing.listed,
                    sa.case((RegistryListing.show_city.is_(True), RegistryListing.city), else_=None).label("city"),
                )
                .join(User, User.id == Endorsement.holder_id)
                .outerjoin(RegistryListing, RegistryListing.holder_id == Endorsement.holder_id)
                .where(Endorsement.number == number.strip().upper())
            ).first()
        if row is None:
            abort(404)
        valid = row.status.value in IN_FORCE
        entry = None
        if valid and row.listed is not False and row.deactivated_at is None:
            track = row.mentor_track and MentorTrack(row.mentor_track)
            entry = {
                "name": row.name,
                "credential": row.credential.short,
                "category_name": category_name(row.credential, row.category, track),
                "status": row.status.value.replace("_", " ").capitalize(),
                "valid_until": row.period_ends_on.strftime("%d %B %Y"),
                "city": row.city,
            }
        v = {
            "number": row.number,
            "valid": valid,
            "starts": row.period_starts_on.strftime("%d %B %Y"),
            "ends": row.period_ends_on.strftime("%d %B %Y"),
        }
        return render_template("registry_verification.html", v=v, entry=entry, today=utc_today().strftime("%d %B %Y"))
