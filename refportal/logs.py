"""Logging: in production one JSON line per request and per error (tracebacks included), each with
the request id that is also sent back as X-Request-ID. A path that carries a token (a referee's
link, a verification or reset link) is logged with the token replaced; no body, query string,
header or form value is ever logged."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from typing import Any, TextIO

from flask import Flask, Response, g, has_request_context, request

from refportal.security.redaction import hidden_path

LOGGER_NAME = "refportal"
REQUEST_ID_HEADER = "X-Request-ID"
# An id from the proxy is kept only when it looks like one (nginx's $request_id is 32 hex digits).
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
REDACTED = "<token>"


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request's id, and any extra fields."""

    FIELDS = ("method", "path", "status", "duration_ms", "remote_addr")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,  # which gunicorn worker
        }
        request_id = getattr(record, "request_id", None) or _current_request_id()
        if request_id:
            entry["request_id"] = request_id
        for name in self.FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


JSONFormatter.converter = time.gmtime


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (gunicorn and pytest may swap it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:  # StreamHandler.__init__ assigns it; reads always go to sys.stderr
        pass


def configure_logging(log_format: str) -> None:
    """Give the portal's logger (and its children: startup, worker, ...) one handler on stderr."""
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        if getattr(handler, "refportal", False):
            logger.removeHandler(handler)
    handler = _StderrHandler()
    handler.refportal = True  # type: ignore[attr-defined]
    handler.setFormatter(
        JSONFormatter()
        if log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _current_request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


def logged_path() -> str:
    """The request's path with every secret segment replaced (never the query string): the segments a
    token route's rule binds to a secret argument, and on a path that starts like a token route but
    matches no rule (an extra segment, another method) everything after that route's fixed start."""
    return hidden_path(request.path, REDACTED)


def install_request_logging(app: Flask) -> None:
    access = logging.getLogger(LOGGER_NAME + ".request")
    log_requests = app.config["LOG_FORMAT"] == "json"

    @app.before_request
    def _start_request() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if REQUEST_ID_PATTERN.match(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        if log_requests and "request_started" in g:
            access.info(
                "request",
                extra={
                    "method": request.method,
                    "path": logged_path(),
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - g.request_started) * 1000, 1),
                    "remote_addr": request.remote_addr,
                },
            )
        return response
