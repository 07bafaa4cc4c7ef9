"""Languages: the referee's side, and the e-mails about an endorsement.

The referee's pages and the e-mails that carry their link are in the referee's language: the reference
stores the language the applicant chose, and the referee can switch on the page (kept in their session).
Every account stores a preferred language (`User.language`, chosen on the account page or at
registration): the e-mails about its endorsement (the decision on its application, the notices of the
endorsement year) are rendered in it, under `force_locale(known_language(...))`. Everything else, the
portal's own pages (the account page included), is in English."""

from __future__ import annotations

from flask import g, request, session

LANGUAGES = {"en": "English", "es": "Español"}
DEFAULT_LANGUAGE = "en"
SESSION_KEY = "referee_language"


def known_language(stored: str | None) -> str:
    """`stored` when the portal writes in it, else English (a value kept from before is never an error)."""
    if stored is not None and stored in LANGUAGES:
        return stored
    return DEFAULT_LANGUAGE


def select_locale() -> str:
    """Flask-Babel's locale selector: what the current request chose, else English."""
    return g.get("language", DEFAULT_LANGUAGE)


def use_referee_language(stored: str | None) -> None:
    """For a referee page: ?lang= switches (and is remembered), else the session, else `stored`."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session[SESSION_KEY] = asked
    chosen = session.get(SESSION_KEY) or stored
    g.language = known_language(chosen)
