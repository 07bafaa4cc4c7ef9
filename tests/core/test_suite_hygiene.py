"""The suite guards itself: every skip fails a REFPORTAL_REQUIRE_ALL run, it never drops the schema
of a database not named for tests, and a developer's .env cannot change what it sees."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from refportal.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def run_pytest(test_file: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "REFPORTAL_REQUIRE"))}
    environment.pop("TEST_DATABASE_URL", None)
    environment.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.conftest",
            "--rootdir",
            str(test_file.parent),
            str(test_file),
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_any_skip_fails_a_run_that_requires_everything(tmp_path):
    test_file = tmp_path / "test_skipping.py"
    test_file.write_text(
        "import pytest\n\ndef test_skipped():\n    pytest.skip('a component is missing')\n\n"
        "def test_passing():\n    assert True\n"
    )
    relaxed = run_pytest(test_file)
    assert relaxed.returncode == 0, relaxed.stdout
    strict = run_pytest(test_file, REFPORTAL_REQUIRE_ALL="1")
    assert strict.returncode == 1, strict.stdout
    assert (
        "REFPORTAL_REQUIRE_ALL=1 and 1 test(s) skipped" in strict.stdout and "a component is missing" in strict.stdout
    )


def test_the_schema_of_a_database_not_named_for_tests_is_never_dropped(tmp_path):
    test_file = tmp_path / "test_database.py"
    test_file.write_text("def test_uses_the_database(app):\n    assert app\n")
    result = run_pytest(test_file, TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:5432/postgres")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "runs only on a database whose name starts or ends with 'test'" in result.stdout + result.stderr


def test_a_developers_dotenv_is_ignored(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("ASSOCIATION_NAME=From a developer's .env\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ASSOCIATION_NAME", raising=False)
    assert os.environ["REFPORTAL_SKIP_DOTENV"] == "1"  # set by tests/conftest.py before refportal loads
    assert load_config({"ENV_NAME": "test", "SECRET_KEY": "k"})["ASSOCIATION_NAME"] == "INfancy Onward"
    monkeypatch.delenv("REFPORTAL_SKIP_DOTENV")
    assert load_config({"ENV_NAME": "test", "SECRET_KEY": "k"})["ASSOCIATION_NAME"] == "From a developer's .env"


@pytest.fixture(autouse=True)
def _restore_environment():
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
