"""The suite guards itself: every skip fails a REFPORTAL_REQUIRE_ALL run, it never drops the schema
of a database not named for tests, a developer's .env cannot change what it sees, no test file imports
a conftest.py or a test module (shared helpers live in plain modules), every model has a factory
that builds a row, and the shared states are what their names say."""

from __future__ import annotations

import ast
import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

from refportal.applications.lifecycle import ApplicationStatus
from refportal.config import load_config
from refportal.db import Base
from refportal.references.lifecycle import ReferenceStatus
from tests import factories
from tests.builders import REFEREES

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


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) for every import in `tree`, `from package import name` counted as package.name."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def test_no_test_file_imports_a_conftest_or_a_test_module():
    offences = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for line, module in imported_modules(tree):
            last = module.rsplit(".", 1)[-1]
            if module.startswith("tests") and (last == "conftest" or last.startswith("test_")):
                offences.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not offences, "import helpers from plain modules (tests/builders.py, tests/web.py, ...):\n" + "\n".join(
        offences
    )


def test_the_import_check_finds_both_kinds_of_import():
    tree = ast.parse("from tests.conftest import Browser\nimport tests.reviews.test_queue\nfrom tests import web\n")
    modules = [module for _, module in imported_modules(tree)]
    assert "tests.conftest" in modules and "tests.reviews.test_queue" in modules and "tests.web" in modules


MODEL_FACTORIES = [
    factory
    for _, factory in inspect.getmembers(factories, inspect.isclass)
    if issubclass(factory, factories.ModelFactory) and factory is not factories.ModelFactory
]


def test_every_model_has_a_factory():
    models = {mapper.class_ for mapper in Base.registry.mappers}
    covered = {factory._meta.model for factory in MODEL_FACTORIES}
    assert len(models) >= 18
    assert not models - covered, (
        f"models without a factory in tests/factories.py: {sorted(m.__name__ for m in models - covered)}"
    )


@pytest.mark.parametrize("factory", MODEL_FACTORIES, ids=lambda factory: factory.__name__)
def test_each_factory_flushes_a_row_and_commits_nothing(app_ctx, factory):
    from refportal.extensions import db

    row = factory()
    assert not db.session.new, "the factory flushed its row"
    assert db.inspect(row).persistent and db.inspect(row).identity is not None
    db.session.rollback()  # nothing was committed: the row is gone
    assert db.session.scalar(db.select(db.func.count()).select_from(factory._meta.model)) == 0


def test_the_shared_state_with_three_referees_asked(application_with_three_referees_asked):
    application = application_with_three_referees_asked
    assert application.applicant.email == "a@example.org" and application.membership is not None
    assert application.eligibility_recorded_at is not None
    references = sorted(application.references, key=lambda reference: reference.id)
    assert [reference.email for reference in references] == [email for _, email, _ in REFEREES]
    assert all(reference.status is ReferenceStatus.INVITED and reference.link_nonce for reference in references)
    assert all(reference.rating is None for reference in references)


def test_the_shared_state_with_three_ratings(application_with_three_ratings):
    references = sorted(application_with_three_ratings.references, key=lambda reference: reference.id)
    assert all(reference.status is ReferenceStatus.SUBMITTED and reference.rating.counts for reference in references)
    assert [set(reference.rating.answers.values()) for reference in references] == [{"5"}, {"4"}, {"3"}]
    assert application_with_three_ratings.status is ApplicationStatus.DRAFT
