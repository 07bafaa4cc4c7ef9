"""/api/v1: JSON for the association's systems, authenticated by API key (Authorization: Bearer),
described by an OpenAPI document generated from these views (flask-smorest), errors as problem
documents."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

import marshmallow as ma
from flask import Blueprint as FlaskBlueprint
from flask import Flask, Response, current_app, g, render_template, request
from flask.views import MethodView
from flask_smorest import Api, Blueprint, abort
from sqlalchemy.exc import IntegrityError

from refportal.api import applications, keys, roster_requests, schemas
from refportal.api.models import ApiKey, Scope
from refportal.api.parser import ApiParser
from refportal.api.problems import API_PREFIX, DETAILS, ProblemSchema, problem, problem_for
from refportal.applications.categories import Credential
from refportal.db import utc_today
from refportal.endorsements import registry
from refportal.errors import register_error_format
from refportal.extensions import csrf, db, limiter
from refportal.security.headers import mark_no_store
from refportal.transactions import Result, attempt, keep_after_failure, rollback


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = ApiParser()


blp = ApiBlueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="Applications, their references' states and decisions, for the association's systems.",
)
csrf.exempt(blp)

BEARER: list[dict[str, list[str]]] = [{"apiKey": []}]


class RefportalApi(Api):
    """flask-smorest's Api, with the portal's error handling (problem documents under /api/, the
    portal's pages elsewhere: see refportal.errors) instead of its own app-wide handler."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        pass


def install_api(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "refportal API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = RefportalApi(
        app,
        spec_kwargs={
            "components": {"securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}}},
            "servers": [{"url": app.config["PORTAL_BASE_URL"]}],
        },
    )
    id_converter = app.url_map.converters["int"]
    api.register_converter(id_converter, lambda c: {"type": "integer", "minimum": 0, "maximum": c.max})
    api.register_blueprint(blp)
    app.register_blueprint(pages)
    app.extensions["refportal-api"] = api
    register_error_format(
        app,
        API_PREFIX,
        http_error=problem_for,
        unexpected=lambda: problem(500, "Internal Server Error", DETAILS[500]),
    )


def _limit_key() -> str:
    """Requests are counted per key (by its hash, before the key is even looked up)."""
    return "api:" + hashlib.sha256(request.headers.get("Authorization", "").encode()).hexdigest()[:32]


limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], key_func=_limit_key)(blp)
# And per client address, whatever keys it sends (made-up keys would each get a bucket of their own).
limiter.limit(lambda: current_app.config["API_RATE_LIMIT_PER_ADDRESS"])(blp)


@blp.before_request
def _authenticate() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    key = keys.key_for(value.strip()) if scheme.lower() == "bearer" else None
    if key is None or key.revoked_at is not None:
        abort(401, message="Send a valid, unrevoked API key: Authorization: Bearer <key>.")
    g.api_key = key


@blp.after_request
def _note_use(response: Response) -> Response:
    key: ApiKey | None = g.get("api_key")
    if key is not None:
        status = response.status_code

        def note() -> None:
            keys.note_use(key, request.method, request.path, status)

        if status >= 500:
            keep_after_failure(note)  # the failed request keeps nothing else; every use stays audited
        else:
            note()  # committed with the request
    response.headers.pop("Set-Cookie", None)
    return mark_no_store(response)


def requires(scope: Scope) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not g.api_key.allows(scope):
                abort(403, message=f"This key does not have the {scope.value} scope.")
            return view(*args, **kwargs)

        return wrapped

    return decorator


ERRORS = {
    400: "A cursor this API did not hand out, or a body that is not JSON or is nested too deeply",
    401: "No API key, or a revoked one",
    403: "The key lacks the scope",
    404: "No such application",
    409: (
        "The Idempotency-Key was used with another request, the first request with it is still being "
        "processed (retry), or the key's creator is gone"
    ),
    413: "The request body is larger than the portal accepts",
    415: "The body is not JSON",
    422: "A parameter is missing, unknown, or of the wrong type or range",
    429: "Too many requests for this key",
}


def problems(*statuses: int) -> Callable:
    """Document the problem documents an operation may answer (401, 403 and 429 always)."""

    def decorator(view: Callable) -> Callable:
        for status in sorted({401, 403, 429, *statuses}):
            view = blp.alt_response(
                status, schema=ProblemSchema, content_type="application/problem+json", description=ERRORS[status]
            )(view)
        return view

    return decorator


@blp.route("/applications")
class Applications(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(schemas.ListArguments, location="query", as_kwargs=True, unknown=ma.RAISE)
    @blp.response(200, schemas.ApplicationPage)
    @problems(400, 422)
    @requires(Scope.READ_APPLICATIONS)
    def get(self, changed_since: Any, cursor: str | None, limit: int) -> dict[str, Any]:
        """Applications in the order they last changed.

        Poll with `changed_since` (or follow `next_cursor`) to see every change of status, round,
        decision, membership or reference state once, in order."""
        try:
            page = applications.page_of_changes(changed_since=changed_since, cursor=cursor, limit=limit)
        except applications.BadCursor as exc:
            abort(400, message=str(exc))
        except OverflowError:  # a moment a time zone pushes outside the years a database can hold
            abort(422, message="changed_since is out of range.", errors={"query": {"changed_since": ["Out of range."]}})
        return {"items": page.items, "next_cursor": page.next_cursor}


@blp.route("/applications/<int:application_id>")
class OneApplication(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, schemas.Application)
    @problems(404)
    @requires(Scope.READ_APPLICATIONS)
    def get(self, application_id: int) -> dict[str, Any]:
        """One application."""
        found = applications.one_application(application_id)
        if found is None:
            abort(404, message=f"There is no application {application_id}.")
        assert found is not None  # abort() raised
        return found


@blp.route("/registry")
class Registry(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(schemas.RegistryArguments, location="query", as_kwargs=True, unknown=ma.RAISE)
    @blp.response(200, schemas.RegistryPage)
    @problems(422)
    @requires(Scope.READ_REGISTRY)
    def get(self, name: str, credential: str | None, category: int | None, place: str, page: int, limit: int) -> dict:
        """The public registry: endorsements in force whose holders chose to be listed, by name.

        The same entries and fields as the registry's pages and export (a city only where its holder
        shows it)."""
        search = registry.RegistrySearch(
            name=name.strip(),
            credential=Credential(credential) if credential else None,
            category=category,
            place=place.strip(),
        )
        found = registry.search_registry(search, page=page, page_size=limit)
        return {
            "items": [entry.as_dict() for entry in found.entries],
            "page": found.page,
            "next_page": found.page + 1 if found.has_next else None,
        }


@blp.route("/roster")
class Roster(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(schemas.IdempotencyHeader, location="headers", as_kwargs=True)
    @blp.arguments(schemas.RosterBody, location="json", as_kwargs=True)
    @blp.response(200, schemas.RosterReport)
    @problems(400, 409, 413, 415, 422)
    @requires(Scope.WRITE_ROSTER)
    def post(self, idempotency_key: str, rows: list[dict[str, str]]) -> Any:
        """Import membership roster rows: the same rows, checks, matching and conflict rules as the CSV
        import, and the same report (rows counted from 0). Rows with faults refuse the whole request
        (422, by row); a repeat with the same Idempotency-Key and body replays the first answer."""
        outcome = _import_once(g.api_key, idempotency_key, rows)
        if isinstance(outcome.refusal, roster_requests.IdempotencyInFlight):
            abort(409, message=outcome.refusal.message, headers={"Retry-After": "1"})
        if outcome.refusal is not None:
            abort(409, message=outcome.refusal.message)
        answer = outcome.value
        assert answer is not None
        if answer.status != 200:  # abort() rolls back what the import did
            abort(answer.status, message="Some rows cannot be imported: nothing was changed.", errors=answer.body)
        return answer.body


def _import_once(key: ApiKey, idempotency_key: str, rows: list[dict[str, str]]) -> Result[roster_requests.RosterAnswer]:
    """The import in the request's one transaction. Should another request with this Idempotency-Key
    have stored its answer first (where nothing made this one wait for it), the unique constraint refuses
    this one's: it is rolled back and answered as that one was."""
    try:
        result = attempt(
            lambda: roster_requests.import_records(
                records=rows, key=key, idempotency_key=idempotency_key, today=utc_today()
            )
        )
        db.session.flush()  # the stored answer's unique key is checked here, not at the request's end
        return result
    except IntegrityError:
        rollback()
        request_hash = roster_requests.request_hash_of(rows)
        earlier = attempt(
            lambda: roster_requests.earlier_answer(key=key, idempotency_key=idempotency_key, request_hash=request_hash)
        )
        if earlier.done and earlier.value is None:
            raise  # another constraint than the Idempotency-Key's
        return Result(value=earlier.value, refusal=earlier.refusal)


# The page for people is not an operation of the API: a plain blueprint, outside the description.
pages = FlaskBlueprint("api_pages", __name__)


@pages.get("/api/v1/docs")
def docs() -> str:
    """The API described for people: every operation, its parameters and answers (from the OpenAPI
    document), and an example."""
    spec = current_app.extensions["refportal-api"].spec.to_dict()
    return render_template("api/docs.html", spec=spec, base=current_app.config["PORTAL_BASE_URL"])
