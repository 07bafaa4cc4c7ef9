"""The documentation cannot drift from the code: the configuration page is what the settings registry
generates, the code map names every module under refportal/ and nothing else, every relative link
leads to a file (and heading) that exists, and the README stays the short door."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from refportal.config import CONFIGURATION_DOC, configuration_markdown

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "refportal"
DOCS = sorted([ROOT / "README.md", ROOT / "SECURITY.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])
README_MOST_LINES = 150


def test_configuration_page_is_what_the_registry_generates():
    assert (ROOT / CONFIGURATION_DOC).read_text() == configuration_markdown(), (
        f"{CONFIGURATION_DOC} is stale: run `make docs`"
    )


def test_readme_is_the_short_door():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MOST_LINES, len(lines)
    text = "\n".join(lines)
    for command in ("make run", "make test", "/dev/mail/", "demo-password-2026"):
        assert command in text


# The code map -------------------------------------------------------------------------------------


def modules_of(package: Path) -> set[str]:
    """Every module (`config.py`, `reviews/decisions.py`) and sub-package (`reviews/`) under the package,
    relative to it; a sub-package's __init__.py is the package itself."""
    names = set()
    for path in package.rglob("*.py"):
        relative = path.relative_to(package)
        if "__pycache__" in relative.parts:
            continue
        if path.name == "__init__.py" and path.parent != package:
            names.add(relative.parent.as_posix() + "/")
        else:
            names.add(relative.as_posix())
    return names


def code_map(text: str) -> set[str]:
    """The first path of each entry of architecture.md's "Map of the code" section."""
    section = text.split("\n## Map of the code\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\s*- `([\w/.]+)`", section, re.M))


def map_problems(text: str, package: Path) -> tuple[set[str], set[str]]:
    """(modules the map leaves out, entries of the map that name no module)."""
    mapped, present = code_map(text), modules_of(package)
    return present - mapped, mapped - present


def test_the_code_map_names_every_module_and_nothing_else():
    missing, unknown = map_problems((ROOT / "docs" / "architecture.md").read_text(), PACKAGE)
    assert missing == set(), f"modules missing from the map in docs/architecture.md: {sorted(missing)}"
    assert unknown == set(), f"the map in docs/architecture.md names what does not exist: {sorted(unknown)}"


def test_the_code_map_check_fails_on_a_stale_map():
    text = (ROOT / "docs" / "architecture.md").read_text()
    stale = text.replace("  - `reviews/decisions.py`", "  - `reviews/services.py`")
    assert stale != text
    assert map_problems(stale, PACKAGE) == ({"reviews/decisions.py"}, {"reviews/services.py"})


def test_the_map_covers_the_whole_package():
    """The map's parser sees modules at every depth, packages and the top-level create_app."""
    present = modules_of(PACKAGE)
    assert {"__init__.py", "config.py", "reviews/", "reviews/queue_query.py", "audit/actions.py"} <= present
    assert "reviews/__init__.py" not in present


# Links ---------------------------------------------------------------------------------------------


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(h) for h in re.findall(r"^#{1,6} (.+)$", path.read_text(), re.M)}


def links(text: str) -> list[str]:
    """Relative link targets, outside code blocks."""
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    return [t for t in re.findall(r"\]\(([^)\s]+)\)", prose) if not re.match(r"[a-z]+:", t)]


def broken_links(document: Path) -> list[str]:
    problems = []
    for target in links(document.read_text()):
        file_part, _, anchor = target.partition("#")
        destination = (document.parent / file_part).resolve() if file_part else document
        if not destination.exists():
            problems.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            problems.append(f"{target}: no such heading")
    return problems


@pytest.mark.parametrize("document", DOCS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_somewhere(document):
    assert broken_links(document) == []


def test_a_broken_link_or_anchor_is_found(tmp_path):
    (tmp_path / "b.md").write_text("# Its heading\n")
    page = tmp_path / "a.md"
    page.write_text("[ok](b.md) [ok](b.md#its-heading) [no](c.md) [no](b.md#another) [web](https://x.org/y)\n")
    assert broken_links(page) == ["c.md: no such file", "b.md#another: no such heading"]


def test_every_repository_path_the_docs_name_exists():
    """A path such as refportal/reviews/file_page.py or tests/api/test_api.py in the prose is a file or
    folder of the repository."""
    missing = []
    for document in DOCS:
        if document.name == "SECURITY.md":
            continue  # its table names modules relative to refportal/ and tests/
        for path in re.findall(r"(?<![\w/.])((?:refportal|tests|bench|deploy)/[\w/.\-]*\w)", document.read_text()):
            if not (ROOT / path).exists():
                missing.append(f"{document.name}: {path}")
    assert missing == []


def test_the_benchmark_page_has_the_place_make_bench_writes_its_table():
    text = (ROOT / "docs" / "benchmark.md").read_text()
    assert text.index("<!-- bench:start -->") < text.index("<!-- bench:end -->")
    assert 'ROOT / "docs" / "benchmark.md"' in (ROOT / "bench" / "run.py").read_text()


def test_the_benchmark_figures_in_the_readme_and_on_the_benchmark_page_are_the_results():
    """README's performance figures and docs/benchmark.md's table are what bench/report.py makes of
    bench/results/latest.json, never typed by hand (`make bench` writes all three)."""
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("bench_report", ROOT / "bench" / "report.py")
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    results = json.loads((ROOT / "bench" / "results" / "latest.json").read_text())
    results["sizes"] = {int(n): entry for n, entry in results["sizes"].items()}

    def between(path: Path, marker: str) -> str:
        text = path.read_text()
        start, end = f"<!-- {marker}:start -->\n", f"\n<!-- {marker}:end -->"
        return text[text.index(start) + len(start) : text.index(end)]

    assert between(ROOT / "README.md", "bench:summary") == report.readme_summary(results)
    assert between(ROOT / "docs" / "benchmark.md", "bench") == report.results_markdown(results)
