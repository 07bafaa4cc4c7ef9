"""The build step that makes the wheel a complete portal.

The repository keeps `templates/` and `migrations/` at the top level (the design card's layout); a
wheel carries them inside the package, with the message catalogues compiled (.po → .mo), so an
installed portal finds everything wherever it is installed. An editable install (`pip install -e .`)
reads templates and migrations from the checkout and gets its catalogues compiled in place."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED_FOLDERS = ("templates", "migrations")


def compile_catalogues(translations: Path) -> list[Path]:
    """Write messages.mo beside every messages.po under `translations`."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po_path in sorted(translations.glob("*/LC_MESSAGES/messages.po")):
        with po_path.open("rb") as po_file:
            catalogue = read_po(po_file, locale=po_path.parent.parent.name)
        mo_path = po_path.with_suffix(".mo")
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalogue)
        written.append(mo_path)
    return written


class BuildWithResources(build_py):
    """build_py, plus the top-level folders and the compiled catalogues."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            compile_catalogues(ROOT / "refportal" / "translations")
            return
        package = Path(self.build_lib) / "refportal"
        for name in BUNDLED_FOLDERS:
            shutil.copytree(
                ROOT / name, package / name, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        compile_catalogues(package / "translations")


setup(cmdclass={"build_py": BuildWithResources})
