"""Error pages in the site's layout; nothing a browser sends ends in a bare 500. A machine interface
(the API) registers its own format for the paths under its prefix (`register_error_format`)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, g, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from refportal.transactions import rollback

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Go back, check what you typed and try again."),
    403: ("Not allowed", "You do not have permission to do that."),
    404: ("Page not found", "There is no page at this address, or it is not yours to see."),
    405: ("Not allowed here", "That kind of request is not accepted at this address."),
    410: ("Gone", "This link is no longer valid."),
    413: ("Too large", "What you sent is larger than the portal accepts. Shorten it and try again."),
    429: ("Too many attempts", "Too many attempts in a short time. Wait a few minutes and try again."),
    500: (
        "Something went wrong",
        "An unexpected error stopped this request; nothing was saved. Please try again later.",
    ),
}


def _page(code: int, message: str | None = None):
    title, default = MESSAGES.get(code, ("Error", "Something went wrong."))
    return render_template("errors/error.html", code=code, title=title, message=message or default), code


ErrorFormat = tuple[Callable[[HTTPException], Response], Callable[[], Response]]
FORMATS = "refportal.error_formats"


def register_error_format(
    app: Flask, prefix: str, *, http_error: Callable[[HTTPException], Response], unexpected: Callable[[], Response]
) -> None:
    """Errors under `prefix` answered by `http_error` (an HTTP error) and `unexpected` (a 500), not pages."""
    app.extensions.setdefault(FORMATS, {})[prefix] = (http_error, unexpected)


def _format_for(app: Flask) -> ErrorFormat | None:
    for prefix, error_format in app.extensions.get(FORMATS, {}).items():
        if request.path.startswith(prefix):
            return error_format
    return None


def install_error_pages(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error):
        return _page(
            400,
            "This form was open too long or came from elsewhere, so it was not accepted. "
            "Go back, reload the page and send it again.",
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        machine = _format_for(app)
        if machine is not None:
            return machine[0](error)
        if error.code == 413:  # a page that takes a file names its own limit
            return _page(413, g.get("too_large_message"))
        if error.code in MESSAGES:
            return _page(error.code)
        return error

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        rollback()
        if app.testing:
            raise error  # a failing test shows the real traceback, not the 500 page
        app.logger.exception("unhandled error", exc_info=error)
        machine = _format_for(app)
        if machine is not None:
            return machine[1]()
        return _page(500)
