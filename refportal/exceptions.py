"""The one exception services raise when a rule refuses a request."""

from __future__ import annotations


class Refused(Exception):
    """A rule refuses the request; `message` is shown to the person as it is, `field` names the form field."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
