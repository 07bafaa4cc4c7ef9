"""Errors of the API as problem documents (RFC 9457, application/problem+json): never HTML."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, json
from werkzeug.exceptions import HTTPException

API_PREFIX = "/api/"
PROBLEM_TYPE = "about:blank"


class ProblemSchema(ma.Schema):
    """A problem document (documentation only: responses are built by `problem`)."""

    type = ma.fields.String(metadata={"description": "A URI identifying the kind of problem"})
    title = ma.fields.String(metadata={"description": "The HTTP status's phrase"})
    status = ma.fields.Integer(metadata={"description": "The HTTP status code"})
    detail = ma.fields.String(metadata={"description": "What went wrong, for a person"})
    errors = ma.fields.Dict(metadata={"description": "Field errors of a refused request"})


def problem(status: int, title: str, detail: str, *, errors: Any = None, headers: dict | None = None) -> Response:
    body: dict[str, Any] = {"type": PROBLEM_TYPE, "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


DETAILS = {
    400: "The request could not be read.",
    401: "Send an API key: Authorization: Bearer <key>.",
    403: "This key does not have the scope this operation needs.",
    404: "There is nothing at this address.",
    405: "This method is not accepted at this address.",
    413: "The request body is larger than the portal accepts.",
    415: "Send JSON (Content-Type: application/json).",
    422: "Some fields are missing or have the wrong type or value.",
    429: "Too many requests for this key: wait and try again.",
    500: "An unexpected error stopped this request; nothing was changed.",
}


def problem_for(error: HTTPException) -> Response:
    """The problem document of an HTTP error raised in the API (webargs' validation errors included)."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    detail = data.get("message") or DETAILS.get(status, error.description)
    headers = dict(data.get("headers") or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="refportal"')
    return problem(status, error.name, str(detail), errors=errors, headers=headers)
