"""Uploads for the document store's tests, and the settings of a fresh bucket on the loopback S3 server."""

from __future__ import annotations

import io
import uuid

from werkzeug.datastructures import FileStorage


def upload(content: bytes, filename: str = "form.pdf") -> FileStorage:
    return FileStorage(stream=io.BytesIO(content), filename=filename, content_type="application/octet-stream")


def s3_settings(s3_server) -> dict:
    """A fresh bucket on the loopback S3 server, and the settings that point at it."""
    import boto3

    bucket = f"refportal-test-{uuid.uuid4().hex[:12]}"
    settings = {
        "DOCUMENT_STORAGE": "s3",
        "DOCUMENT_S3_BUCKET": bucket,
        "DOCUMENT_S3_ENDPOINT_URL": s3_server.endpoint,
        "DOCUMENT_S3_REGION": "us-east-1",
        "DOCUMENT_S3_ACCESS_KEY_ID": "test-key",
        "DOCUMENT_S3_SECRET_ACCESS_KEY": "test-secret",
    }
    boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
    ).create_bucket(Bucket=bucket)
    return settings
