"""Languages: the referee's side, and the e-mails about an endorsement.

The referee's pages and the e-mails that carry their link are in the referee's language: the reference
stores the language the applicant chose, and the referee can switch on the page (kept in their session).
Every account stores a preferred language (`User.language`, chosen on the account page or at
registration): the e-mails about its endorsement (the decision on its application, the notices of the
endorsement year) are rendered in it, under `force_locale(known_language(...))`. Everything else, the
portal's own pages (the account page included), is in English.

Each message is translated once per language and app: `translate` keeps what Flask-Babel's gettext
answered, so a label drawn on every page (the rating form's, the templates' `_()`) is a dictionary
lookup after the first time; `lazy_gettext` is Flask-Babel's lazy string over it, and the templates'
`_()` (`template_gettext`) keeps what it draws of a message without values, per language. The language
is asked of Flask-Babel on every call, so a switch (`?lang=`, `force_locale` for an e-mail) is followed
at once."""

from __future__ import annotations

from typing import Any

from babel.support import NullTranslations, Translations
from flask import Flask, current_app, g, request, session
from flask_babel import get_locale, get_translations
from flask_babel import gettext as babel_gettext
from flask_babel.speaklater import LazyString
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup
from wtforms.i18n import messages_path

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


_TRANSLATED = "refportal.translated"  # app.extensions: {locale: {message: translation}}
# The messages kept per language: far more than the portal has (they are literals in the code and the
# templates), so a caller translating text it did not write cannot grow the table for ever.
MAX_KEPT_PER_LANGUAGE = 10_000


def translate(message: str) -> str:
    """`message` in the current language (Flask-Babel's gettext, kept per language)."""
    locale = get_locale()
    if locale is None:  # outside a request or app context: Flask-Babel's own answer
        return babel_gettext(message)
    kept = current_app.extensions[_TRANSLATED].setdefault(locale, {})
    try:
        return kept[message]
    except KeyError:
        translation = babel_gettext(message)
        if len(kept) < MAX_KEPT_PER_LANGUAGE:
            kept[message] = translation
        return translation


def lazy_gettext(message: str) -> LazyString:
    """A label translated when it is drawn, in the language of that moment (through `translate`)."""
    return LazyString(translate, message)


_WTFORMS_MESSAGES = "refportal.wtforms_messages"  # app.extensions: {locale: WTForms' catalogue}


def wtforms_messages() -> NullTranslations:
    """WTForms' own messages ("Not a valid choice.") in the current language, read from WTForms'
    catalogue once per language and app. (Flask-WTF reads the catalogue from disk again in every
    request that needs one of them, and a radio left unanswered on a rating step asks for one.)"""
    locale = get_locale()
    if locale is None:
        return NullTranslations()
    kept = current_app.extensions[_WTFORMS_MESSAGES]
    try:
        return kept[str(locale)]
    except KeyError:
        messages = kept[str(locale)] = Translations.load(messages_path(), [locale], domain="wtforms")
        return messages


_DRAWN = "refportal.drawn"  # app.extensions: {(locale, autoescape): {message: what _() draws}}


def _as_drawn(translated: str, autoescape: bool, variables: dict[str, Any]) -> str:
    """What Jinja's newstyle gettext makes of a translation: Markup under autoescape, then % with the
    values (escaped by Markup's %)."""
    # The text is a message the portal wrote (a template's literal) or its translation from the portal's
    # own catalogue, never a user's: Jinja's gettext marks it safe the same way.
    return (Markup(translated) if autoescape else translated) % variables  # nosec B704


@pass_eval_context
def template_gettext(eval_ctx: EvalContext, message: str, /, **variables: Any) -> str:
    """The templates' `_()` and `gettext()`: Jinja's "newstyle" gettext (Markup under autoescape, always
    formatted with %, so `%%` is a percent sign), called directly rather than through Jinja's alias and
    wrapper; a message without variables is drawn once per language and kind of template, then looked up
    (a referee's step draws some twenty of them)."""
    if variables:
        return _as_drawn(translate(message), eval_ctx.autoescape, variables)
    locale = get_locale()
    if locale is None:
        return _as_drawn(babel_gettext(message), eval_ctx.autoescape, {})
    kept = current_app.extensions[_DRAWN].setdefault((locale, eval_ctx.autoescape), {})
    try:
        return kept[message]
    except KeyError:
        drawn = _as_drawn(translate(message), eval_ctx.autoescape, {})
        if len(kept) < MAX_KEPT_PER_LANGUAGE:
            kept[message] = drawn
        return drawn


def install_translations(app: Flask) -> None:
    """The templates' `_()` and `gettext()` through `template_gettext`; the plural and context forms as
    Flask-Babel installs them (called after Flask-Babel's init_app)."""
    app.extensions[_TRANSLATED] = {}
    app.extensions[_DRAWN] = {}
    app.extensions[_WTFORMS_MESSAGES] = {}
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]  # added by jinja2.ext.i18n
        gettext=translate,
        ngettext=lambda s, p, n: get_translations().ungettext(s, p, n),
        pgettext=lambda c, s: get_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: get_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext)
