"""Helpers every slice's views share: a service's refusal shown on its form or flashed, safe redirects.
(The request's transaction: refportal.transactions.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import flash

from refportal.exceptions import Refused
from refportal.transactions import attempt

T = TypeVar("T")


def show_refusal(form: Any, refusal: Refused) -> None:
    """Put a service's refusal on the field it names, or on the form as a whole."""
    field = getattr(form, refusal.field, None) if refusal.field else None
    if field is not None:
        field.errors = [*field.errors, refusal.message]
    else:
        form.form_errors.append(refusal.message)


def attempt_on_form(form: Any, service: Callable[..., T], /, **arguments: Any) -> tuple[bool, T | None]:
    """attempt() for a valid form: (True, result), or (False, None) with the refusal shown on the form."""
    result = attempt(lambda: service(**arguments))
    if result.refusal is not None:
        show_refusal(form, result.refusal)
    return result.done, result.value


def attempt_and_flash(action: Callable[[], object], success: str) -> bool:
    """attempt() for a one-button action: flash `success`, or why it was refused."""
    result = attempt(action)
    if result.refusal is not None:
        flash(result.refusal.message, "error")
    else:
        flash_success(success)
    return result.done


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after login, or None (no open redirects)."""
    if not target or "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:  # e.g. "/[zz]" read as a broken IPv6 host by some versions
        return None
    if parts.scheme or parts.netloc:
        return None
    return target


def flash_success(message: str) -> None:
    flash(message, "success")


def spreadsheet_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula: text starting with = + - @ (or a tab or a
    carriage return) gets a leading apostrophe; None is empty. Every CSV export writes its cells through it."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
