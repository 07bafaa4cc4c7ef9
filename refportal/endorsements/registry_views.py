"""The public registry: search, one endorsement's verification page, and the export. Built for anonymous
traffic: no session is read or written (no cookie), every page carries an ETag, Last-Modified and
Cache-Control: public (a repeat answers 304), requests are rate limited per address, and a page that
is not about listed entries tells search engines not to index it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime

from flask import Blueprint, Response, current_app, request

from refportal.applications.categories import Credential
from refportal.db import utc_today
from refportal.endorsements import registry
from refportal.endorsements.forms import MAX_PAGE, RegistrySearchForm
from refportal.endorsements.services import normalized_number
from refportal.extensions import limiter
from refportal.web import CsvLines, filter_args, spooled, spreadsheet_cell

bp = Blueprint("registry", __name__, url_prefix="/registry")
# One count per client address for all the registry's pages (guessing numbers and searching alike).
limiter.shared_limit(lambda: current_app.config["REGISTRY_RATE_LIMIT"], scope="registry")(bp)

EXPORT_COLUMNS = ("number", "name", "credential", "category", "category_name", "status", "valid_until", "city")


@bp.get("/")
def search():
    """Search the listed endorsees by name, credential, category and city or region."""
    form = RegistrySearchForm(request.args)
    today = utc_today()
    if not form.validate():
        page = _render("registry/search.html", form=form, results=None, today=today)
        return _public(Response(page, status=400), changed_at=None, indexable=False)
    search = registry.RegistrySearch(
        name=form.name.data or "",
        credential=Credential(form.credential.data) if form.credential.data else None,
        category=int(form.category.data) if form.category.data else None,
        place=form.place.data or "",
    )
    results = registry.search_registry(
        search, page=form.page.data or 1, page_size=current_app.config["REGISTRY_PAGE_SIZE"]
    )
    page = _render(
        "registry/search.html",
        form=form,
        results=results,
        today=today,
        args=filter_args(form),
        max_page=MAX_PAGE,
    )
    return _public(Response(page), changed_at=registry.changed_at(today, results.latest_change), indexable=True)


@bp.get("/<string:number>")
def verification(number: str):
    """One endorsement, by its number: valid today or not, with its period; the entry itself only when listed."""
    today = utc_today()
    normalized = normalized_number(number)
    found = registry.verify(normalized, today) if normalized else None
    if found is None:
        page = _render("registry/not_found.html", number=number[:40])
        return _public(Response(page, status=404), changed_at=None, indexable=False)
    page = _render("registry/verification.html", verification=found, today=today)
    return _public(Response(page), changed_at=found.changed_at, indexable=found.entry is not None)


@bp.get("/export.csv")
def export_csv():
    """Every listed entry as CSV, for the association's website."""
    changed_at = registry.registry_changed_at(utc_today())
    response = spooled(_csv_lines(), "text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=registry.csv"
    return _public(response, changed_at=changed_at, indexable=False)


@bp.get("/export.json")
def export_json():
    """Every listed entry as JSON, for the association's website."""
    changed_at = registry.registry_changed_at(utc_today())
    return _public(spooled(_json_chunks(), "application/json"), changed_at=changed_at, indexable=False)


# The exports are written to a temporary file as their rows are read (web.spooled): their ETag is a hash of
# the whole body (a strong validator: it moves with any change to what they show, a holder's deactivation
# included, which the registry's change time does not see), so they are not sent before they are whole.


def _csv_lines() -> Iterator[str]:
    lines = CsvLines(lineterminator="\n")
    yield lines.line(EXPORT_COLUMNS)
    for entry in registry.export_registry():
        cells = entry.as_dict()
        yield lines.line([spreadsheet_cell(cells[column]) for column in EXPORT_COLUMNS])


def _json_chunks() -> Iterator[str]:
    """{"entries": [...]} as json.dumps writes it, one entry at a time."""
    yield '{"entries": ['
    for n, entry in enumerate(registry.export_registry()):
        yield (", " if n else "") + json.dumps(entry.as_dict(), ensure_ascii=False, default=date.isoformat)
    yield "]}"


def _render(template: str, **context: object) -> str:
    """The template without Flask's context processors: Flask-Login's would load the user from the
    session (and the answer would then vary by cookie)."""
    return current_app.jinja_env.get_template(template).render(**context)


def _public(response: Response, *, changed_at: datetime | None, indexable: bool) -> Response:
    """Cacheable by anyone for REGISTRY_CACHE_SECONDS, validated by ETag and Last-Modified; a 304 when
    the client's copy is current."""
    if response.status_code == 200:
        response.headers["Cache-Control"] = f"public, max-age={current_app.config['REGISTRY_CACHE_SECONDS']}"
        response.last_modified = changed_at
        response.add_etag()
    else:
        response.headers["Cache-Control"] = "no-cache"
    if not indexable:
        response.headers["X-Robots-Tag"] = "noindex"
    if response.status_code == 200:
        response.make_conditional(request)  # in place: a 304 without a body when the copy is current
    return response
