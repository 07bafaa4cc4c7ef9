"""Where a document's bytes live, chosen by DOCUMENT_STORAGE: `database` (a row per document, for a
single small deployment), `filesystem` (DOCUMENT_DIRECTORY, the default: `make run` needs nothing), or
`s3` (an S3-compatible object store, for several web machines). Each backend puts, opens and deletes
bytes by a key the store makes up; the uploader's file name never reaches a path or an object key."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol

import sqlalchemy as sa
from flask import current_app

from refportal.documents.models import DocumentBlob
from refportal.extensions import db

CHUNK = 64 * 1024
BACKENDS = ("database", "filesystem", "s3")


def _read_and_close(handle: IO[bytes]) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK):
            yield chunk


class StorageError(RuntimeError):
    """The backend could not keep or give back the bytes."""


class Storage(Protocol):
    name: str

    def put(self, key: str, stream: IO[bytes]) -> None: ...

    def chunks(self, key: str) -> Iterator[bytes]:
        """The bytes, opened now (a missing object raises StorageError here); the iterator needs no
        application context, so a response can stream it after the request's context has ended."""
        ...

    def delete(self, key: str) -> None: ...


class DatabaseStorage:
    """Bytes in the document_blob table, written in the caller's transaction (so they roll back with it)."""

    name = "database"

    def put(self, key: str, stream: IO[bytes]) -> None:
        db.session.add(DocumentBlob(key=key, data=stream.read()))
        db.session.flush()

    def chunks(self, key: str) -> Iterator[bytes]:
        data = db.session.scalar(sa.select(DocumentBlob.data).where(DocumentBlob.key == key))
        if data is None:
            raise StorageError(f"no bytes kept for {key}")
        return (data[start : start + CHUNK] for start in range(0, len(data), CHUNK))

    def delete(self, key: str) -> None:
        db.session.execute(sa.delete(DocumentBlob).where(DocumentBlob.key == key))


class FilesystemStorage:
    """One file per document under a directory; written to a temporary name, then renamed in place."""

    name = "filesystem"

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        if not key.replace("-", "").isalnum():  # keys are made by the store: hex and dashes only
            raise StorageError(f"not a storage key: {key!r}")
        return self.directory / key[:2] / key

    def put(self, key: str, stream: IO[bytes]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, partial = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
        try:
            with os.fdopen(handle, "wb") as out:
                shutil.copyfileobj(stream, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise

    def chunks(self, key: str) -> Iterator[bytes]:
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise StorageError(f"no bytes kept for {key}") from exc
        return _read_and_close(handle)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Storage:
    """Objects in one bucket of an S3-compatible store (boto3); endpoint and keys from the settings."""

    name = "s3"

    def __init__(self, config: dict[str, Any]):
        import boto3
        from botocore.config import Config

        self.bucket = config["DOCUMENT_S3_BUCKET"]
        self.prefix = config["DOCUMENT_S3_PREFIX"]
        self.client = boto3.client(
            "s3",
            endpoint_url=config["DOCUMENT_S3_ENDPOINT_URL"] or None,
            region_name=config["DOCUMENT_S3_REGION"] or None,
            aws_access_key_id=config["DOCUMENT_S3_ACCESS_KEY_ID"] or None,
            aws_secret_access_key=config["DOCUMENT_S3_SECRET_ACCESS_KEY"] or None,
            config=Config(
                connect_timeout=config["DOCUMENT_S3_TIMEOUT_SECONDS"],
                read_timeout=config["DOCUMENT_S3_TIMEOUT_SECONDS"],
                retries={"max_attempts": 3, "mode": "standard"},
                s3={"addressing_style": "path"},
            ),
        )

    def _object(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def put(self, key: str, stream: IO[bytes]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.upload_fileobj(stream, self.bucket, self._object(key))
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"the object store refused {key}: {exc}") from exc

    def chunks(self, key: str) -> Iterator[bytes]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._object(key))["Body"]
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"the object store did not give back {key}: {exc}") from exc
        return _read_and_close(body)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._object(key))


def storage_named(name: str) -> Storage:
    """The backend `name` as the settings configure it."""
    config = current_app.config
    if name == "database":
        return DatabaseStorage()
    if name == "filesystem":
        return FilesystemStorage(config["DOCUMENT_DIRECTORY"])
    if name == "s3":  # one client per app: making one costs more than most requests
        if "refportal.documents.s3" not in current_app.extensions:
            current_app.extensions["refportal.documents.s3"] = S3Storage(config)
        return current_app.extensions["refportal.documents.s3"]
    raise StorageError(f"unknown document storage {name!r}")


def current_storage() -> Storage:
    """The backend new documents go to (DOCUMENT_STORAGE); each document remembers its own."""
    return storage_named(current_app.config["DOCUMENT_STORAGE"])
