"""Uploads for the document store's tests."""

from __future__ import annotations

import io

from werkzeug.datastructures import FileStorage


def upload(content: bytes, filename: str = "form.pdf") -> FileStorage:
    return FileStorage(stream=io.BytesIO(content), filename=filename, content_type="application/octet-stream")
