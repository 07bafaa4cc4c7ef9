"""The competency section of the rating form (8 domains, 19 items × 6 choices): the largest part of
the referee's page. It is drawn by Jinja once per language and credential, with a slot where each
radio may be checked, and kept; a request only fills the slots. A form with item errors (rare: a
tampered value) is drawn in full."""
from __future__ import annotations

import re

from flask import current_app, render_template_string
from flask_babel import get_locale
from markupsafe import Markup

from refportal.applications.categories import Credential
from refportal.references.rating_form import DOMAINS, NOT_ENOUGH_INFORMATION, NOT_ENOUGH_INFORMATION_LABEL, SCALE, item_text

_MACRO = '{% from "referee/_competencies.html" import competencies %}' \
         '{{ competencies(form, domains, scale_choices, item_text, credential, checked_slot) }}'
_SLOT = re.compile("\x00([^\x00\x01]*)\x01([^\x00]*)\x00")
_CACHE_KEY = "refportal.competency_sections"


def scale_choices() -> list[tuple[str, str]]:
    """The scale in the current language, "not enough information" last."""
    return [(value, str(label)) for value, label in (*SCALE, (NOT_ENOUGH_INFORMATION, NOT_ENOUGH_INFORMATION_LABEL))]


def _checked_slot(name: str, value: str) -> Markup:
    return Markup(f"\x00{name}\x01{value}\x00")  # field names and values are ours: letters, digits, _


def _draw(form, credential: Credential, checked_slot=None) -> str:
    return render_template_string(_MACRO, form=form, domains=DOMAINS, scale_choices=scale_choices(),
                                  item_text=item_text, credential=credential, checked_slot=checked_slot)


def _section(form, credential: Credential) -> tuple[list[str], list[tuple[str, str]]]:
    """The section drawn with slots: the text between the slots, and each slot's (field, value)."""
    cache = current_app.extensions.setdefault(_CACHE_KEY, {})
    key = (str(get_locale()), credential)
    if key not in cache or current_app.jinja_env.auto_reload:
        parts = _SLOT.split(_draw(form, credential, _checked_slot))
        cache[key] = (parts[::3], list(zip(parts[1::3], parts[2::3])))
    return cache[key]


def competencies_html(form, credential: Credential) -> Markup:
    """The section for this form: its answers checked; drawn in full when an item has an error."""
    if any(form[name].errors for name in form._item_fields):
        return Markup(_draw(form, credential))
    texts, slots = _section(form, credential)
    out = [texts[0]]
    for (name, value), text in zip(slots, texts[1:]):
        if form[name].data == value:
            out.append(" checked")
        out.append(text)
    return Markup("".join(out))
