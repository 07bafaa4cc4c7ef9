"""What an upload is, found from its content (never its name or the browser's word): a PDF without
JavaScript, or a PNG or JPEG image of a bounded number of pixels (read from its header, never
decoded). Anything else is refused with a message a person understands."""

from __future__ import annotations

import unicodedata
import warnings
from typing import IO

from refportal.exceptions import Refused

ACCEPTED = "a PDF, or a PNG or JPEG image"
# Leading bytes of each accepted type → its content type.
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
# A PDF's header may follow up to 1 KB of other bytes (readers accept that); nothing else may.
PDF_HEADER_WINDOW = 1024
FILENAME_LIMIT = 160
# What runs code, launches programs or carries other files in a PDF: a dictionary with one of these
# keys, an action of one of these kinds, or an embedded file refuses the PDF.
PDF_ACTIVE_KEYS = frozenset({"/JavaScript", "/JS", "/Launch", "/EmbeddedFiles", "/EF", "/RichMedia", "/XFA"})
PDF_ACTIVE_ACTIONS = frozenset({"/JavaScript", "/Launch", "/RichMediaExecute", "/ImportData", "/SubmitForm"})


class UnacceptableFile(Refused):
    """The upload is not something the portal keeps."""


def checked_filename(name: str | None) -> str:
    """The uploader's file name as it will be shown and offered for download: refused when it holds a
    path separator or a control character (a browser sends a plain name; anything else is forged)."""
    name = unicodedata.normalize("NFC", (name or "").strip())
    if not name:
        raise UnacceptableFile("Choose a file to upload.")
    if "/" in name or "\\" in name or name in {".", ".."}:
        raise UnacceptableFile("The file's name must not contain “/” or “\\”: rename the file and upload it again.")
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} for ch in name):
        raise UnacceptableFile("The file's name holds control characters: rename the file and upload it again.")
    if len(name) > FILENAME_LIMIT:
        raise UnacceptableFile(f"The file's name is longer than {FILENAME_LIMIT} characters: rename it and try again.")
    return name


def content_type_of(stream: IO[bytes]) -> str:
    """The accepted type the leading bytes show, else UnacceptableFile (an executable renamed .pdf too)."""
    stream.seek(0)
    head = stream.read(PDF_HEADER_WINDOW + 8)
    stream.seek(0)
    for signature, content_type in SIGNATURES:
        if head.startswith(signature):
            return content_type
    if b"%PDF-" in head[:PDF_HEADER_WINDOW]:
        return "application/pdf"
    raise UnacceptableFile(f"This file is not {ACCEPTED} (whatever its name says). Upload {ACCEPTED}.")


def check_content(stream: IO[bytes], content_type: str, *, max_pixels: int, max_pdf_objects: int) -> None:
    """Refuse a PDF that carries JavaScript (or other active content) or cannot be read, and an image
    larger than `max_pixels` or unreadable."""
    stream.seek(0)
    try:
        if content_type == "application/pdf":
            _check_pdf(stream, max_pdf_objects)
        else:
            _check_image(stream, max_pixels)
    finally:
        stream.seek(0)


def _check_pdf(stream: IO[bytes], max_objects: int) -> None:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(stream, strict=False)
        if reader.is_encrypted:
            raise UnacceptableFile("This PDF is password-protected: upload a copy without a password.")
        for obj in _pdf_objects(reader, max_objects):
            if _is_active(obj):
                raise UnacceptableFile(
                    "This PDF contains JavaScript or other active content, which the portal does not keep. "
                    "Print it to a new PDF (or scan the paper form) and upload that."
                )
    except UnacceptableFile:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, OSError) as exc:
        raise UnacceptableFile("This PDF could not be read: it may be damaged. Upload another copy.") from exc


def _pdf_objects(reader, max_objects: int):
    """Every indirect object of the PDF (those in object streams too), at most `max_objects`."""
    numbers: set[int] = set()
    for table in reader.xref.values():
        numbers.update(table)
    numbers.update(reader.xref_objStm)
    if len(numbers) > max_objects:
        raise UnacceptableFile("This PDF is too complex to check. Print it to a new PDF and upload that.")
    for number in sorted(numbers):
        try:
            obj = reader.get_object(number)
        except Exception:  # noqa: BLE001 - a damaged object is looked at no further
            continue
        yield obj
    yield reader.trailer


def _is_active(obj) -> bool:
    from pypdf.generic import DictionaryObject

    if not isinstance(obj, DictionaryObject):
        return False
    if any(key in PDF_ACTIVE_KEYS for key in obj):
        return True
    return str(obj.get("/S", "")) in PDF_ACTIVE_ACTIONS or str(obj.get("/Type", "")) == "/EmbeddedFile"


def _check_image(stream: IO[bytes], max_pixels: int) -> None:
    from PIL import Image, UnidentifiedImageError

    # Image.open reads the header only; the size check happens before any decoding (Pillow's own
    # decompression-bomb warning is ours to decide, so it is silenced; its error is still caught).
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(stream)
        with image:
            width, height = image.size
            if width * height > max_pixels:
                raise _too_many_pixels(width, height, max_pixels)
            image.verify()  # the structure (chunk checksums), without decoding the pixels
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(0, 0, max_pixels) from exc
    except UnacceptableFile:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnacceptableFile("This image could not be read: it may be damaged. Upload another copy.") from exc


def _too_many_pixels(width: int, height: int, max_pixels: int) -> UnacceptableFile:
    size = f" ({width:,} × {height:,} pixels)" if width and height else ""
    return UnacceptableFile(
        f"This image is too large{size}: at most {max_pixels:,} pixels are accepted. Scan it at a lower resolution."
    )
