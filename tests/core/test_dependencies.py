"""One dependency direction: infrastructure → accounts → applications → membership / references →
submission → reviews → api / mail console → worker (import-linter's layers contract in pyproject.toml);
a package never imports one above it, and the reactions across packages are signals connected in
create_app."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_package_imports_one_above_it():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_the_contract_fails_an_upward_import(tmp_path):
    """The check can fail: the same contract over a copy of the package with one upward import."""
    import shutil

    copy = tmp_path / "refportal"
    shutil.copytree(ROOT / "refportal", copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    target = copy / "accounts" / "services.py"
    target.write_text(target.read_text() + "\nfrom refportal.reviews import decisions  # noqa\n")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode != 0
    assert "refportal.accounts is not allowed to import refportal.reviews" in result.stdout
