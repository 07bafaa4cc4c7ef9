"""Helpers every slice's views share: a service's refusal shown on its form or flashed, safe redirects,
exports sent as they are written (or spooled to disk when their validators need the whole body). (The
request's transaction: refportal.transactions.)"""

from __future__ import annotations

import csv
import hashlib
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any, TypeVar
from urllib.parse import urlsplit

from flask import Response, flash, request, stream_with_context, url_for

from refportal.db import MAX_ID
from refportal.exceptions import Refused
from refportal.transactions import attempt, read_only

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


class CsvLines:
    """CSV text one row at a time, for an export sent as it is written (cells as given: each export
    passes its text through spreadsheet_cell)."""

    def __init__(self, lineterminator: str = "\r\n") -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator=lineterminator)

    def line(self, cells: Sequence[object]) -> str:
        self._writer.writerow(cells)
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text


def csv_download(lines: Iterable[str], filename: str) -> Response:
    """A CSV attachment sent as its lines are written: `lines` is read while the response is sent, after
    the request's commit and teardown (Flask's stream_with_context pushes the request's context again, with
    a new database session): it may use only plain values the view captured (not `current_user`, whose
    object is detached by then), and it is read-only (transactions.read_only). An export reads its rows
    with one statement fetched in batches (yield_per: a server-side cursor on PostgreSQL), so neither
    memory nor the statements grow with the rows."""
    response = Response(stream_with_context(read_only(lines)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


SPOOL_CHUNK = 64 * 1024


def spooled(chunks: Iterable[str], mimetype: str) -> Response:
    """A body its ETag must be computed from (a strong validator of the very bytes, as
    Response.add_etag's), written whole to a temporary file before the response starts instead of held in
    memory: the ETag, Content-Length and the body are those of the text of `chunks`, memory stays that of
    one chunk whatever the size, and the body is sent from the file."""
    body: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the response
    digest, length = hashlib.sha1(usedforsecurity=False), 0  # noqa: S324 - Werkzeug's generate_etag: the same ETag as add_etag
    try:
        for chunk in chunks:
            data = chunk.encode()
            digest.update(data)
            body.write(data)
            length += len(data)
        body.seek(0)
    except BaseException:
        body.close()
        raise
    response = Response(_read(body), mimetype=mimetype)
    response.call_on_close(body.close)
    response.set_etag(digest.hexdigest())
    response.content_length = length
    return response


def _read(body: IO[bytes]) -> Iterator[bytes]:
    while data := body.read(SPOOL_CHUNK):
        yield data


def filter_args(form: Any, *, without: Iterable[str] = ("page",)) -> dict[str, str]:
    """The request's query values for a list's links (paging): only the filter form's own fields, never
    a name of url_for's own (`_method`, `endpoint`…: a hostile link would break building the URL)."""
    skipped = set(without)
    return {name: request.args[name] for name in form._fields if name in request.args and name not in skipped}


ID_STAND_IN = MAX_ID  # the id a route of KeptUrls.with_id is built with once, then replaced by each row's


class KeptUrls:
    """The URLs a page draws every time, kept per app and script root (a root other than the last one
    kept starts the table again), for the templates: `fixed_url` and `id_url` (create_app)."""

    def __init__(self) -> None:
        self._kept: tuple[str | None, dict[tuple[object, ...], Any]] = (None, {})

    def _urls(self) -> dict[tuple[object, ...], Any]:
        root = request.script_root
        kept = self._kept  # one tuple: the root and its table are read together
        if kept[0] != root:
            kept = self._kept = (root, {})
        return kept[1]

    def fixed(self, endpoint: str, **values: Any) -> str:
        """url_for() for a fixed link (the layout's navigation and stylesheet, a search form's action),
        built once. Only for literals in a template (the table holds one entry per call site)."""
        urls = self._urls()
        key = (endpoint, *sorted(values.items()))
        if key not in urls:
            urls[key] = url_for(endpoint, **values)
        url: str = urls[key]
        return url

    def with_id(self, endpoint: str, **value: Any) -> str:
        """url_for() for a route of one `<int:…>` id, drawn on every row of a list (a file's link, a
        round's): the route is built once with a stand-in id, and each row's id is put in its place.
        Anything but a database id (another type, out of range) is left to url_for."""
        ((name, number),) = value.items()
        if type(number) is not int or not 0 <= number <= MAX_ID:
            return url_for(endpoint, **value)
        urls = self._urls()
        key = (endpoint, name, ID_STAND_IN)
        around = urls.get(key)
        if around is None:
            stand_in_values: dict[str, Any] = {name: ID_STAND_IN}
            built = url_for(endpoint, **stand_in_values)
            start, stand_in, end = built.partition(str(ID_STAND_IN))
            if not stand_in or str(ID_STAND_IN) in end:  # the route's own text holds the stand-in
                return url_for(endpoint, **value)
            around = urls[key] = (start, end)
        return f"{around[0]}{number}{around[1]}"
