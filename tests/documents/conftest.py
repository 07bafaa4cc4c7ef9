from __future__ import annotations

import uuid

import pytest

from tests.factories import make_application, make_user

BACKENDS = ("database", "filesystem", "s3")


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


@pytest.fixture(params=BACKENDS)
def backend_app(request, make_app):
    """An app whose documents go to each storage backend in turn (S3: moto's server on loopback)."""
    settings: dict = {"CLAMD_ADDRESS": ""}
    if request.param == "s3":
        settings.update(s3_settings(request.getfixturevalue("s3_server")))
    else:
        settings["DOCUMENT_STORAGE"] = request.param
    return make_app(**settings)


@pytest.fixture
def owner(app):
    """An applicant's application, by id (documents know their owner by id only)."""
    with app.app_context():
        applicant = make_user(email="owner@example.org")
        return make_application(applicant).id
