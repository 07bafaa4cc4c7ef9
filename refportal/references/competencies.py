"""The competency statements of the rating form (8 domains, 19 items × 6 choices), a few domains per
step. Each step's section is drawn by Jinja once per language, credential and step, with a slot where
each radio may be checked, and kept; a request only fills the slots. A form with item errors (a
statement left unanswered, or a tampered value) is drawn in full."""

from __future__ import annotations

from flask import current_app, get_template_attribute
from flask_babel import get_locale
from markupsafe import Markup

from refportal.applications.categories import Credential
from refportal.references.rating_form import (
    DOMAINS,
    NOT_ENOUGH_INFORMATION,
    NOT_ENOUGH_INFORMATION_LABEL,
    SCALE,
    Domain,
    item_text,
)

CHECKED = Markup(" checked")
_SLOT = Markup("\x00{}\x01{}\x00")  # around a slot, then between its field name and value
_CACHE_KEY = "refportal.competency_sections"


def scale_choices() -> list[tuple[str, str]]:
    """The scale in the current language, "not enough information" last."""
    return [(value, str(label)) for value, label in (*SCALE, (NOT_ENOUGH_INFORMATION, NOT_ENOUGH_INFORMATION_LABEL))]


def _draw(form, credential: Credential, domains: tuple[Domain, ...], checked_slot=None) -> Markup:
    """The section as the template draws it (autoescaped)."""
    competencies = get_template_attribute("referee/_competencies.html", "competencies")
    return competencies(form, domains, scale_choices(), item_text, credential, checked_slot)


def _section(form, credential: Credential, domains: tuple[Domain, ...]) -> tuple[list[Markup], list[list[str]]]:
    """The section drawn with slots: the markup between the slots, and each slot's [field, value]."""
    cache = current_app.extensions.setdefault(_CACHE_KEY, {})
    key = (str(get_locale()), credential, tuple(domain.key for domain in domains))
    if key not in cache or current_app.jinja_env.auto_reload:
        parts = _draw(form, credential, domains, _SLOT.format).split("\x00")  # Markup.split keeps Markup pieces
        cache[key] = (parts[::2], [str(slot).split("\x01") for slot in parts[1::2]])
    return cache[key]


def competencies_html(form, credential: Credential, domains: tuple[Domain, ...] = DOMAINS) -> Markup:
    """The statements of `domains` for this form: its answers checked; drawn in full when an item has
    an error."""
    if any(form[name].errors for name in form._item_fields):
        return _draw(form, credential, domains)
    texts, slots = _section(form, credential, domains)
    out = [texts[0]]
    for (name, value), text in zip(slots, texts[1:], strict=True):
        if form[name].data == value:
            out.append(CHECKED)
        out.append(text)
    return Markup("").join(out)
