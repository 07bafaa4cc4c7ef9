"""Each message is translated once per language (refportal.i18n.translate), and a language switch is
still followed at once: the referee's ?lang=, force_locale for an e-mail, the next request."""

from __future__ import annotations

from flask import g, render_template_string
from flask_babel import force_locale

from refportal import i18n
from refportal.references.rating_form import NOT_ENOUGH_INFORMATION_LABEL

LABEL = "Not enough information to rate"
SPANISH = "No hay suficiente información para valorar"


def counting_babel(monkeypatch) -> list[str]:
    asked: list[str] = []
    real = i18n.babel_gettext

    def counted(message: str) -> str:
        asked.append(message)
        return real(message)

    monkeypatch.setattr(i18n, "babel_gettext", counted)
    return asked


def test_a_label_is_translated_once_per_language_and_follows_every_switch(app, monkeypatch):
    asked = counting_babel(monkeypatch)
    with app.test_request_context("/"):
        g.language = "es"
        assert [str(NOT_ENOUGH_INFORMATION_LABEL) for _ in range(3)] == [SPANISH] * 3
        with force_locale("en"):  # an e-mail in another language, inside the request
            assert str(NOT_ENOUGH_INFORMATION_LABEL) == LABEL
            assert render_template_string("{{ _('Not enough information to rate') }}") == LABEL
        assert str(NOT_ENOUGH_INFORMATION_LABEL) == SPANISH
        assert render_template_string("{{ _('Not enough information to rate') }}") == SPANISH
    with app.test_request_context("/"):  # the next request, in English
        assert str(NOT_ENOUGH_INFORMATION_LABEL) == LABEL
    assert asked == [LABEL, LABEL]  # once in Spanish, once in English


def test_the_templates_translation_escapes_its_values_and_keeps_the_plural_forms(app):
    with app.test_request_context("/"):
        g.language = "es"
        page = render_template_string(
            "{{ _('Reference for %(name)s', name=name) }}|{{ ngettext('%(num)s file', '%(num)s files', 2) }}",
            name="<b>Ana</b>",
        )
    assert page == "Referencia para &lt;b&gt;Ana&lt;/b&gt;|2 files"


def test_outside_a_request_a_message_is_flask_babels_own(app):
    assert i18n.translate(LABEL) == LABEL
    with app.app_context():
        assert i18n.translate(LABEL) == LABEL


def test_the_templates_gettext_is_jinjas_newstyle_gettext_with_the_answer_kept(app):
    """template_gettext draws what jinja2.ext's newstyle gettext drew: Markup under autoescape (so a
    message's own markup stays and a value is escaped), a plain string in a text template (an e-mail's
    body), `%%` as a percent sign; a message without values is drawn once per language and kind of
    template, and the kept answer follows a switch of language."""
    source = "{{ _('Save & continue') }}|{{ _('100%% sure') }}|{{ gettext('Hi %(who)s', who=who) }}"
    with app.test_request_context("/"):
        html = app.jinja_env.from_string(source)  # autoescaped, like every .html template
        text = app.jinja_env.overlay(autoescape=False).from_string(source)  # like the .txt e-mails
        for _ in range(2):  # drawn, then looked up
            assert html.render(who="<b>") == "Save & continue|100% sure|Hi &lt;b&gt;"
            assert text.render(who="<b>") == "Save & continue|100% sure|Hi <b>"
        with force_locale("es"):
            assert render_template_string("{{ _('Not enough information to rate') }}") == SPANISH
        assert render_template_string("{{ _('Not enough information to rate') }}") == LABEL
    kept = app.extensions[i18n._DRAWN]
    assert {(str(locale), escaped) for locale, escaped in kept} == {("en", True), ("en", False), ("es", True)}
