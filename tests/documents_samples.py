"""Files for the document store's tests, made here: PDFs (plain, with JavaScript, of a given size),
images (small, and one whose header claims 50,000 × 50,000 pixels), and things that are neither."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, StreamObject, TextStringObject


def pdf(
    text: str = "signed rating form",
    *,
    payload_bytes: int = 0,
    javascript: str | None = None,
    attachment: bytes | None = None,
    password: str | None = None,
) -> bytes:
    """A one-page PDF; `payload_bytes` of page content make it that much larger."""
    writer = PdfWriter()
    page = writer.add_blank_page(width=612, height=792)
    content = StreamObject()
    body = f"% {text}\n".encode()
    if payload_bytes:
        line = b"0 0 m 612 792 l S\n"
        body += line * (payload_bytes // len(line) + 1)
    content.set_data(body)
    page[NameObject("/Contents")] = writer._add_object(content)
    if javascript is not None:  # run when the PDF is opened
        action = DictionaryObject(
            {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject(javascript)}
        )
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    if attachment is not None:
        writer.add_attachment("payload.bin", attachment)
    if password is not None:
        writer.encrypt(password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png(width: int = 8, height: int = 8) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 220, 240)).save(out, "PNG")
    return out.getvalue()


def jpeg(width: int = 8, height: int = 8) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 220, 240)).save(out, "JPEG")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header says width × height (decoding it would need gigabytes)."""
    header = struct.pack("!IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    pixels = zlib.compress(b"\0" * 64)  # far fewer rows than the header claims
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


# A Windows executable's first bytes (the MZ header and the DOS stub's message), named .pdf by the tests.
EXECUTABLE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"This program cannot be run in DOS mode.\r\n" * 4
)


def zip_bomb() -> bytes:
    """A zip whose one member inflates to 50 MB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("form.pdf", b"\0" * (50 * 1024 * 1024))
    return out.getvalue()


# A PDF the tests' clamd knows as infected (its signature database lists this exact file).
INFECTED_PDF = pdf("a form the virus scanner's test signatures list")
INFECTED_TEST_FILES = {"Refportal.Test.InfectedPdf": INFECTED_PDF}
