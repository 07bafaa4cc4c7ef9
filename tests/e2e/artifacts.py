"""Where the browser tests keep their screenshots and reports (git-ignored)."""

from __future__ import annotations

from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
