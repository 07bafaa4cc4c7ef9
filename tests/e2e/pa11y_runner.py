"""pa11y (axe-core and HTML_CodeSniffer runners), from the npm registry into .node/, driving Debian's
Chromium: its settings and one run."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.support import require

PA11Y = Path(__file__).resolve().parents[2] / ".node" / "node_modules" / ".bin" / "pa11y"


def pa11y(url: str, settings: dict, tmp_path: Path, cookie: str | None = None, expect: str | None = None) -> list[dict]:
    """The issues pa11y reports at `url` (type "error": what fails WCAG 2 AA or needs a person to judge).
    `cookie` is sent with every request; pa11y fails unless the element `expect` is on the page (so a
    login page in place of the one meant cannot pass)."""
    config = dict(settings)
    if cookie:
        config["headers"] = {"Cookie": cookie}
    if expect:
        config["actions"] = [f"wait for element {expect} to be added"]
    config_file = tmp_path / "pa11y.json"
    config_file.write_text(json.dumps(config))
    result = subprocess.run(
        [str(PA11Y), "--config", str(config_file), "--reporter", "json", url],
        capture_output=True,
        text=True,
        timeout=180,
    )
    # pa11y exits 0 without issues, 2 with issues; anything else is pa11y itself failing.
    assert result.returncode in (0, 2), f"pa11y exited {result.returncode}:\n{result.stderr}\n{result.stdout}"
    return json.loads(result.stdout or "[]")


def summary(issues: list[dict]) -> str:
    return "\n".join(f"{i['runner']} {i['code']} {i['selector']}: {i['context'][:100]}" for i in issues)


def pa11y_settings() -> dict:
    """pa11y's settings for every run here (the session cookie is added per run)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        require("Chromium", "Debian's chromium package is not installed (make test installs it as root)")
    if shutil.which("node") is None:
        require("Node.js", "node is not installed: pa11y cannot run")
    if not PA11Y.exists():
        require("pa11y", f"{PA11Y} is missing (`make node-packages`, which `make test` runs, installs it with npm)")
    return {
        "runners": ["axe", "htmlcs"],
        "standard": "WCAG2AA",
        "viewport": {"width": 1280, "height": 1024},
        "timeout": 60000,
        "chromeLaunchConfig": {
            "executablePath": chromium,
            "args": ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
        },
    }
