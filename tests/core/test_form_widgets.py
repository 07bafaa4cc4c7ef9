"""The portal's select (refportal.forms.SelectField) draws the very bytes WTForms' own widget draws,
and every select of every form is the portal's."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
import wtforms
from flask import render_template_string
from markupsafe import Markup
from wtforms import Form, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

import refportal
from refportal.forms import SelectField, SelectWidget
from refportal.i18n import lazy_gettext

ODD = [
    SelectChoice("", "—"),
    SelectChoice('say "hi"', "quotes <b>in</b> a value & a label"),
    SelectChoice(Markup('a "marked" value'), Markup("<em>kept</em>")),
    SelectChoice("plain"),
    SelectChoice("lazy", lazy_gettext("Not enough information to rate")),
    SelectChoice("empty label", ""),
]


def drawn_both_ways(field, **kwargs) -> tuple[str, str]:
    return str(SelectWidget()(field, **kwargs)), str(widgets.Select()(field, **kwargs))


@pytest.mark.parametrize("chosen", [None, "", 'say "hi"', "plain", "lazy", "not a choice"])
@pytest.mark.parametrize(
    "attributes",
    [{}, {"aria_describedby": "x-error", "aria-invalid": "true", "class_": "wide"}, {"id": False}, {"disabled": True}],
)
def test_the_same_bytes_as_wtforms_for_any_choice_value_and_attributes(app, chosen, attributes):
    class Odd(Form):
        pick = SelectField("Pick", choices=ODD)
        needed = SelectField("Needed", choices=ODD, validators=[DataRequired()])
        yes_no = SelectField(
            "Yes or no",
            choices=[SelectChoice(True, "Yes"), SelectChoice(False, "No")],
            coerce=lambda v: v in (True, "True"),
        )

    with app.test_request_context("/"):
        form = Odd(data={"pick": chosen, "needed": chosen, "yes_no": chosen == "plain"})
        for field in form:
            ours, theirs = drawn_both_ways(field, **attributes)
            assert ours == theirs
        assert str(form.needed()).startswith('<select id="needed" name="needed" required>')


def test_groups_and_options_with_their_own_attributes_are_drawn_by_wtforms(app):
    class Grouped(Form):
        grouped = SelectField(
            "Grouped", choices=[SelectChoice("a", "A", optgroup="One"), SelectChoice("b", optgroup="Two")]
        )
        marked = SelectField("Marked", choices=[SelectChoice("a", "A", render_kw={"data-x": "1"}), SelectChoice("b")])

    with app.test_request_context("/"):
        form = Grouped(data={"grouped": "b", "marked": "a"})
        for field in form:
            ours, theirs = drawn_both_ways(field)
            assert ours == theirs and ("<optgroup" in ours or 'data-x="1"' in ours)


def every_form_class() -> list[type]:
    found: dict[str, type] = {}
    for module_info in pkgutil.walk_packages(refportal.__path__, "refportal."):
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, wtforms.Form) and value.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = value
    from refportal.references.forms import RATING_FORMS

    for credential, form_class in RATING_FORMS.items():
        found[f"rating form {credential.name}"] = form_class
    return list(found.values())


def test_every_select_of_every_form_is_the_portals():
    selects = []
    for form_class in every_form_class():
        for name in dir(form_class):
            unbound = getattr(form_class, name, None)
            if isinstance(unbound, wtforms.fields.core.UnboundField) and unbound.field_class in (
                wtforms.SelectField,
                SelectField,
            ):
                selects.append((form_class.__name__, name, unbound.field_class))
    assert len(selects) > 20  # the walk found the forms
    assert [entry for entry in selects if entry[2] is not SelectField] == []  # none is WTForms' own


def test_the_field_macros_write_the_labels_wtforms_writes(app):
    from refportal.references.forms import RATING_FORMS

    class Labels(Form):
        odd = SelectField('A "quoted" <label> & more', choices=ODD)
        lazy = SelectField(lazy_gettext("Not enough information to rate"), choices=ODD)

    macros = '{% from "_macros/forms.html" import field, radios %}{{ field(f) }}|{{ radios(f) }}'
    with app.test_request_context("/"):
        rating = next(iter(RATING_FORMS.values()))()
        for f in [*Labels(), rating.recommendation, rating.referee_role, getattr(rating, rating._item_fields[0])]:
            drawn = render_template_string(macros, f=f)
            assert str(f.label()) in drawn.split("|")[0]
            for option in f:
                assert str(option.label()) in drawn.split("|")[1]
