from __future__ import annotations

import pytest

from tests.documents.helpers import s3_settings
from tests.factories import make_application, make_user

BACKENDS = ("database", "filesystem", "s3")


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
