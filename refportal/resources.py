"""Where the portal's files are: inside the installed package (a wheel carries templates/,
migrations/ and compiled catalogues, see setup.py), else at the checkout's top level."""

from __future__ import annotations

from pathlib import Path

from refportal.config import PROJECT_ROOT

PACKAGE_ROOT = Path(__file__).resolve().parent
TRANSLATIONS_FOLDER = PACKAGE_ROOT / "translations"


def resource_folder(name: str) -> Path:
    """`templates` or `migrations`: the package's copy in an installed wheel, the checkout's otherwise."""
    bundled = PACKAGE_ROOT / name
    return bundled if bundled.is_dir() else PROJECT_ROOT / name


TEMPLATE_FOLDER = resource_folder("templates")
MIGRATIONS_FOLDER = resource_folder("migrations")


def compiled_catalogue(language: str) -> Path:
    return TRANSLATIONS_FOLDER / language / "LC_MESSAGES" / "messages.mo"
