"""/registry/: the public registry's search, anonymous (one statement: the page of listed entries, by
name; refportal's reads the registry's date, its Last-Modified, beside them)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, render_template, request, url_for

from floor.common import connect
from refportal.accounts.models import User, searchable  # how a name and a search are compared
from refportal.applications.categories import CATEGORIES, Credential, MentorTrack, category_name
from refportal.endorsements.models import Endorsement, RegistryListing, RegistryNameTail
from refportal.endorsements.registry import after_every_extension, contains_text  # a prefix's range; by place

IN_FORCE = ("active", "renewal_due", "grace")
PAGE_SIZE = 25  # refportal's REGISTRY_PAGE_SIZE
CREDENTIALS = [("", "Any")] + [(c.value, c.short) for c in Credential]
FIELDS = ("name", "credential", "category", "place")
CATEGORY_CHOICES = [("", "Any")] + [(str(n), str(n)) for n in CATEGORIES]


def _literal(value: object) -> sa.BindParameter:
    return sa.bindparam(None, value, literal_execute=True)


def _statement(name: str, credential: str, category: str, place: str, page: int) -> sa.Select:
    columns = (
        Endorsement.number,
        User.name,
        Endorsement.credential,
        Endorsement.category,
        Endorsement.mentor_track,
        Endorsement.status,
        Endorsement.period_ends_on,
        sa.case((RegistryListing.show_city.is_(True), RegistryListing.city), else_=None).label("city"),
    )
    words = searchable(name)
    if words:
        # As refportal's: the endorsements whose holder's name begins with the words from one of its words
        # on, in the order of the tails' index that begins with the credential and category searched.
        tail, earlier = RegistryNameTail.__table__.alias("tail"), RegistryNameTail.__table__.alias("earlier")
        # As refportal's (registry._literal): the searched words in the SQL.
        start, end = _literal(words), _literal(after_every_extension(words))
        statement = (
            sa.select(*columns)
            .select_from(tail)
            .join(Endorsement, Endorsement.id == tail.c.endorsement_id)
            .join(User, User.id == tail.c.holder_id)
            .where(
                tail.c.tail >= start,
                tail.c.tail < end,
                ~sa.exists().where(
                    earlier.c.endorsement_id == tail.c.endorsement_id,
                    earlier.c.position < tail.c.position,
                    sa.func.substr(earlier.c.tail, 1, sa.func.length(start)) == start,
                ),
            )
        )
        order = (tail.c.tail, tail.c.name, tail.c.holder_id, tail.c.number)
        filters = (tail.c.credential, tail.c.category)
    else:
        statement = sa.select(*columns).join(User, User.id == Endorsement.holder_id)
        order = (User.name, User.id, Endorsement.number)
        filters = (Endorsement.credential, Endorsement.category)
    statement = statement.outerjoin(RegistryListing, RegistryListing.holder_id == Endorsement.holder_id).where(
        Endorsement.status.in_(IN_FORCE),
        sa.or_(RegistryListing.listed.is_(None), RegistryListing.listed.is_(True)),
        User.deactivated_at.is_(None),
    )
    if credential:
        statement = statement.where(filters[0] == _literal(Credential(credential)))
    if category:
        statement = statement.where(filters[1] == _literal(int(category)))
    if place:
        statement = statement.where(
            RegistryListing.show_city.is_(True),
            contains_text(sa.func.lower(RegistryListing.city), place),
        )
    # As refportal's: the LIMIT and OFFSET written into the SQL, so that a generic plan knows them.
    limit = sa.bindparam("limit", PAGE_SIZE + 1, literal_execute=True)
    return (
        statement.order_by(*order)
        .limit(limit)
        .offset(sa.bindparam("offset", (page - 1) * PAGE_SIZE, literal_execute=True))
    )


def register(app: Flask) -> None:
    @app.get("/registry/")
    def registry_search():
        # None where the query string has no such field: no option is selected then (an empty value is).
        form = {key: (request.args.get(key) or "").strip() or request.args.get(key) for key in FIELDS}
        page = int(request.args.get("page") or 1)
        with connect() as conn:
            rows = conn.execute(_statement(page=page, **{k: v or "" for k, v in form.items()})).all()
        entries = [
            {
                "number": row.number,
                "name": row.name,
                "credential": row.credential.short,
                "category_name": category_name(
                    row.credential, row.category, row.mentor_track and MentorTrack(row.mentor_track)
                ),
                "city": row.city or "",
                "status": row.status.value.replace("_", " ").capitalize(),
                "valid_until": row.period_ends_on.strftime("%d %B %Y"),
            }
            for row in rows[:PAGE_SIZE]
        ]
        args = {k: v for k, v in request.args.items() if k != "page"}
        return render_template(
            "registry_search.html",
            form=form,
            credentials=CREDENTIALS,
            categories=CATEGORY_CHOICES,
            entries=entries,
            page=page,
            previous_url=url_for("registry_search", page=page - 1, **args) if page > 1 else None,
            next_url=url_for("registry_search", page=page + 1, **args) if len(rows) > PAGE_SIZE else None,
        )
