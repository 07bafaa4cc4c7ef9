"""Error pages in the site's layout; nothing a browser sends ends in a bare 500."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from refportal.api.problems import is_api_request, problem, problem_for
from refportal.extensions import db

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
        if is_api_request():
            return problem_for(error)
        if error.code in MESSAGES:
            return _page(error.code)
        return error

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        db.session.rollback()
        if app.testing:
            raise error  # a failing test shows the real traceback, not the 500 page
        app.logger.exception("unhandled error", exc_info=error)
        if is_api_request():
            return problem(
                500, "Internal Server Error", "An unexpected error stopped this request; nothing was changed."
            )
        return _page(500)
