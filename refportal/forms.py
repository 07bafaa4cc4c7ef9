"""What every slice's forms share: validators, fields, and the one-button form."""

from __future__ import annotations

import functools
import unicodedata
from datetime import date

from flask import current_app
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import DateField, IntegerField, widgets
from wtforms import SelectField as WTFormsSelectField
from wtforms.fields.choices import SelectChoice
from wtforms.meta import DefaultMeta
from wtforms.validators import StopValidation, ValidationError

from refportal.i18n import wtforms_messages
from refportal.mail.addresses import normalize_email


class SelectWidget(widgets.Select):
    """WTForms' select, the same bytes drawn in one pass: its options written directly rather than each
    through WTForms' attribute builder (html_params) and signature dispatch, which cost a filter form
    with forty options a quarter of its page. Groups, multiple selects and options with their own
    attributes are drawn by WTForms."""

    def __call__(self, field, **kwargs):
        if self.multiple or field.has_groups():
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", None)
        set_flags = vars(flags) if flags is not None else {}  # what WTForms' dir(flags) finds
        for name in self.validation_attrs:
            if name in set_flags and name not in kwargs:
                kwargs[name] = set_flags[name]
        html = [f"<select {widgets.html_params(name=field.name, **kwargs)}>"]
        for choice in field._iter_choices_normalized():
            if choice.render_kw:
                html.append(self.render_option(choice))
                continue
            value = str(choice.value) if isinstance(choice.value, bool) else choice.value
            quoted = escape(value).replace(Markup('"'), Markup("&quot;"))
            text = escape(choice.label or choice.value)
            html.append(
                f'<option selected value="{quoted}">{text}</option>'
                if choice.selected
                else f'<option value="{quoted}">{text}</option>'
            )
        html.append("</select>")
        # Every value and label escaped above, the attributes by html_params (as WTForms' own widget does).
        return Markup("".join(html))  # nosec B704


_QUOTE, _ESCAPED_QUOTE = '"', "&quot;"


@functools.lru_cache(maxsize=512)
def _attribute_name(key: str) -> str:
    """An attribute's name as WTForms writes it (clean_key, then escaped); the names are the code's own."""
    return str(escape(widgets.core.clean_key(key)))


def attributes(**kwargs) -> str:
    """WTForms' html_params, the same bytes (sorted, `True` bare, `False` left out, values escaped, and a
    quote left in a Markup value written &quot;), built with one f-string per attribute rather than a
    Markup.format each, and the quotes replaced in the escaped text as a plain string."""
    params = []
    for key, value in sorted(kwargs.items()):
        if value is True:
            params.append(_attribute_name(key))
        elif value is not False:
            params.append(f'{_attribute_name(key)}="{str(escape(value)).replace(_QUOTE, _ESCAPED_QUOTE)}"')
    return " ".join(params)


def _flag_attributes(field, widget, kwargs: dict, *, call: bool) -> None:
    """The field's flags the widget writes as attributes (WTForms finds them with dir(flags): the set ones
    are the instance's own); an input calls a callable flag, as WTForms' Input does."""
    flags = getattr(field, "flags", None)
    for name, value in (vars(flags) if flags is not None else {}).items():
        if name in widget.validation_attrs and name not in kwargs:
            kwargs[name] = value() if call and callable(value) else value


def _input(field, widget, kwargs: dict) -> Markup:
    """WTForms' Input.__call__, with `attributes`."""
    kwargs.setdefault("id", field.id)
    kwargs.setdefault("type", widget.input_type)
    if "value" not in kwargs:
        kwargs["value"] = field._value()
    datalist = getattr(field, "_datalist", None)
    if datalist is not None and "list" not in kwargs:
        kwargs["list"] = datalist if isinstance(datalist, str) else datalist.id
    _flag_attributes(field, widget, kwargs, call=True)
    # Every value escaped by `attributes`, as by WTForms' own widget.
    return Markup(f"<input {attributes(name=field.name, **kwargs)}>")  # nosec B704


def _checked_input(field, widget, kwargs: dict) -> Markup:
    """WTForms' RadioInput and CheckboxInput: checked, then an input."""
    if getattr(field, "checked", field.data):
        kwargs.setdefault("checked", True)
    return _input(field, widget, kwargs)


def _text_area(field, widget, kwargs: dict) -> Markup:
    """WTForms' TextArea.__call__, with `attributes`."""
    kwargs.setdefault("id", field.id)
    _flag_attributes(field, widget, kwargs, call=False)
    text = escape(field._value())
    # The attributes escaped by `attributes`, the text by escape(), as by WTForms' own widget.
    return Markup(f"<textarea {attributes(name=field.name, **kwargs)}>\r\n{text}</textarea>")  # nosec B704


# The widgets drawn most, by exact class (a subclass may draw differently: WTForms draws it).
_DRAWN = {
    widgets.TextInput: _input,
    widgets.EmailInput: _input,
    widgets.HiddenInput: _input,
    widgets.DateInput: _input,
    widgets.TelInput: _input,
    widgets.URLInput: _input,
    widgets.SearchInput: _input,
    widgets.RadioInput: _checked_input,
    widgets.CheckboxInput: _checked_input,
    widgets.TextArea: _text_area,
}


def draw(field, **kwargs) -> Markup:
    """`field(**kwargs)`: the same bytes, for the inputs, radios, checkboxes and text areas the page macros
    draw by the dozen, without WTForms' attribute builder (a Markup.format per attribute: about a tenth
    of the application file's time in-process). Any other widget, and a form whose meta draws fields its own way, go
    through WTForms."""
    draw_widget = _DRAWN.get(type(field.widget))
    if draw_widget is None or type(field.meta).render_field is not DefaultMeta.render_field:
        return field(**kwargs)
    kwargs = {widgets.core.clean_key(k): v for k, v in kwargs.items()}
    if field.render_kw is not None:
        kwargs = {**{widgets.core.clean_key(k): v for k, v in field.render_kw.items()}, **kwargs}
    return draw_widget(field, field.widget, kwargs)


class SelectField(WTFormsSelectField):
    """The portal's select field (WTForms' own, drawn by SelectWidget)."""

    widget = SelectWidget()


class TranslatedForm(FlaskForm):
    """A form whose WTForms messages come from the catalogue kept per language (`wtforms_messages`)
    rather than Flask-WTF's, read again in each request (the same messages, the same language)."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return wtforms_messages()


class ActionForm(FlaskForm):
    """A button that changes something: only its CSRF token."""


class ValidEmail:
    """Checks the address and puts its canonical form back into the field."""

    def __call__(self, form, field):
        try:
            field.data = normalize_email(field.data or "")
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class SingleLine:
    """Refuses line breaks and other control characters (they would end up in headers and files)."""

    message = "Use a single line of text, without line breaks or control characters."

    def __call__(self, form, field):
        value = field.data or ""
        if any(unicodedata.category(ch) == "Cc" for ch in value):
            raise ValidationError(self.message)


class OptionalChoice:
    """For select and radio fields that may be left unanswered: only a truly empty answer counts as
    none. (WTForms' Optional also treats white space as empty and then skips the choice check.)"""

    field_flags = {"optional": True}

    def __call__(self, form, field):
        if not field.raw_data or field.raw_data[0] == "":
            field.errors[:] = []
            raise StopValidation()


class Paragraphs:
    """Free text over several lines: line breaks and tabs are fine, other control characters
    (NUL, escape codes) are refused; the database could not store some of them."""

    message = "Remove the control characters from this text (they cannot be stored)."

    def __call__(self, form, field):
        value = field.data or ""
        if any(unicodedata.category(ch) == "Cc" and ch not in "\r\n\t" for ch in value):
            raise ValidationError(self.message)


class WholeNumber(IntegerField):
    """An integer field that refuses absurdly long numbers itself (WTForms' range check cannot
    compare integers too large for a float)."""

    MAX_DIGITS = 9

    def process_formdata(self, valuelist):
        if valuelist and len(valuelist[0].strip().lstrip("+-")) > self.MAX_DIGITS:
            self.data = None
            raise ValueError("Enter a smaller number.")
        super().process_formdata(valuelist)


class DayField(DateField):
    """A date field that refuses days no one means (year 9999, year 1) with its own message: the portal
    adds days and years to the dates it is given, and the database and Python must hold the results."""

    FIRST, LAST = date(1900, 1, 1), date(2199, 12, 31)
    message = "Enter a date between 1900 and 2199."
    out_of_range = False
    data: date | None

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.out_of_range = self.data is not None and not self.FIRST <= self.data <= self.LAST
        if self.out_of_range:
            self.data = None

    def pre_validate(self, form):
        if self.out_of_range:
            raise StopValidation(self.message)  # not "required" or "not a date": this message alone


def strip_text(value):
    return value.strip() if isinstance(value, str) else value


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as the options of a select or radio field."""
    return [SelectChoice(value, label) for value, label in pairs]
