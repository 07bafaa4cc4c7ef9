"""The portal's select (refportal.forms.SelectField) draws the very bytes WTForms' own widget draws,
and every select of every form is the portal's; refportal.forms.draw, which the field macros call, draws
every field of every form as the field itself does."""

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
from refportal.forms import SelectField, SelectWidget, draw
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


HOSTILE = '<a href="https://example.org/?a=1&b=2">x</a> \'quoted\' "twice" &amp;'
DRAW_ATTRIBUTES = [
    {},
    {"id": False},
    {"aria-describedby": "f-hint f-error", "aria-invalid": "true", "autocomplete": "email", "type": "email"},
    {"class_": "wide", "data_role": 'a "b"', "disabled": True, "readonly": False, "value": HOSTILE},
]


def fields_of(form):
    """Every field of the form and every option of its radio and checkbox lists."""
    for field in form:
        yield field
        if isinstance(field, wtforms.RadioField | wtforms.SelectMultipleField):
            yield from field


@pytest.mark.parametrize("hostile", [False, True])
def test_draw_writes_what_every_field_of_every_form_writes(app, hostile):
    """Every form the portal has, empty and filled with markup and quotes: draw(field, **attributes) is
    field(**attributes), byte for byte, for every field and option and every kind of attribute the macros
    pass (WTForms' own widget when draw does not know the field's)."""
    drawn = 0
    with app.test_request_context("/"):
        for form_class in every_form_class():
            form = form_class(meta={"csrf": False}) if hostile else form_class()
            for field in form:
                if hostile and isinstance(field.widget, widgets.Input | widgets.TextArea):
                    field.raw_data = [HOSTILE]
                    field.data = HOSTILE
                if hostile and isinstance(field, wtforms.RadioField) and field.choices:
                    field.data = list(field.iter_choices())[-1][0]
            for field in fields_of(form):
                for attributes in DRAW_ATTRIBUTES:
                    assert str(draw(field, **attributes)) == str(field(**attributes)), (form_class, field.name)
                    drawn += 1
    assert drawn > 1000  # the walk found the forms and their fields


class MaxLengthLater:
    """A validator whose flag is a callable (WTForms' inputs call it)."""

    field_flags = {"maxlength": lambda: 40}

    def __call__(self, form, field):
        pass


def test_draw_calls_a_callable_flag_as_wtforms_does(app):
    class Flagged(Form):
        limited = wtforms.StringField("Limited", validators=[MaxLengthLater()])
        notes = wtforms.TextAreaField("Notes", validators=[DataRequired()])

    with app.test_request_context("/"):
        form = Flagged()
        assert str(draw(form.limited)) == str(form.limited()) and 'maxlength="40"' in str(draw(form.limited))
        assert str(draw(form.notes)) == str(form.notes()) and " required" in str(draw(form.notes))


def test_draw_leaves_a_widget_it_does_not_know_to_wtforms(app):
    class Other(Form):
        secret = wtforms.PasswordField("Secret")
        count = wtforms.IntegerField("Count", widget=widgets.NumberInput(min=1, max=9))
        quoted = wtforms.StringField("Quoted", render_kw={"placeholder": 'say "hi"'})

    with app.test_request_context("/"):
        form = Other(data={"secret": "kept out", "count": 3, "quoted": HOSTILE})
        assert str(draw(form.secret)) == str(form.secret()) and "kept out" not in str(draw(form.secret))
        assert str(draw(form.count)) == str(form.count()) and 'max="9"' in str(draw(form.count))
        assert str(draw(form.quoted)) == str(form.quoted()) and "&#34;hi&#34;" in str(draw(form.quoted))
