"""Languages for the referee's side: the pages behind the link and the e-mails that carry it.

Everything else is in English. The reference stores the language the applicant chose; the referee
can switch on the page (kept in their session)."""

from __future__ import annotations

from flask import g, request, session

LANGUAGES = {"en": "English", "es": "Español"}
DEFAULT_LANGUAGE = "en"
SESSION_KEY = "referee_language"


def select_locale() -> str:
    """Flask-Babel's locale selector: what the current request chose, else English."""
    return g.get("language", DEFAULT_LANGUAGE)


def use_referee_language(stored: str | None) -> None:
    """For a referee page: ?lang= switches (and is remembered), else the session, else `stored`."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session[SESSION_KEY] = asked
    chosen = session.get(SESSION_KEY) or stored
    g.language = chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE
