"""The competency section drawn once per language and credential, its slots filled per request,
is the very HTML the template draws for that form in full."""

from __future__ import annotations

import pytest
from flask import g
from werkzeug.datastructures import MultiDict

from refportal.applications.categories import Credential
from refportal.references.competencies import _draw, competencies_html
from refportal.references.forms import RATING_FORMS
from refportal.references.rating_form import DOMAINS, ITEM_KEYS

ANSWERS = {
    f"item_{key}": value
    for key, value in zip(ITEM_KEYS, (["1", "2", "3", "4", "5", "na"] * 4)[: len(ITEM_KEYS)], strict=True)
}


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("credential", list(Credential))
def test_the_kept_section_with_its_slots_filled_is_the_full_drawing(app, language, credential):
    with app.test_request_context("/r/x"):
        g.language = language
        form_class = RATING_FORMS[credential]
        blank = form_class(meta={"csrf": False})
        answered = form_class(meta={"csrf": False}, data=ANSWERS)
        for form in (blank, answered, blank):  # the second and third use the kept section
            assert competencies_html(form, credential) == _draw(form, credential, DOMAINS)
        html = str(competencies_html(answered, credential))
    assert html.count(" checked") == len(ITEM_KEYS)
    assert ("Exemplary" if language == "en" else "Ejemplar") in html


def test_an_item_with_an_error_is_drawn_in_full_with_its_message(app):
    with app.test_request_context("/r/x", method="POST"):
        form = RATING_FORMS[Credential.IMH_E](MultiDict({"item_theory_development": "7"}), meta={"csrf": False})
        assert not form.validate()
        html = str(competencies_html(form, Credential.IMH_E))
    assert 'class="item has-error"' in html and 'id="item_theory_development-error"' in html
    assert " checked" not in html  # "7" is not a choice
