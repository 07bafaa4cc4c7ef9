"""`make profile`: where each key page's time goes, refportal against its same-page floor.

Both apps in-process on one benchmark database (1,000 applications unless BENCH_SIZES says otherwise),
each page requested PROFILE_REQUESTS times under pyinstrument; every sample is put in one bucket, by the
innermost frame that belongs to a known part of the stack, and a sample under a request hook (loading the
signed-in user, the session clock, Babel, the limiter, the headers, the request log) counts as "hooks".
Prints a table of milliseconds per request by bucket (also bench/results/profile.md) and writes each
page's full profile to bench/results/profiles/<page>.txt. Under the profiler a request takes several
times as long as without it: compare the parts, not the totals with `make bench`."""

from __future__ import annotations

import logging
import os
import re
import sys
from collections import Counter
from pathlib import Path

from pyinstrument import Profiler
from pyinstrument.renderers import ConsoleRenderer

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import run  # noqa: E402
from floor.app import create as create_floor  # noqa: E402
from floor.check import login  # noqa: E402

REQUESTS = int(os.environ.get("PROFILE_REQUESTS", "200"))
OUT = ROOT / "bench" / "results" / "profiles"
HOOKS = ("preprocess_request", "process_response", "_load_user", "do_teardown_request", "save_session", "open_session")
BUCKETS = (  # the first that matches a frame's file, innermost frame first
    ("database", ("psycopg",)),
    ("SQLAlchemy", ("sqlalchemy",)),
    ("forms", ("wtforms", "flask_wtf")),
    ("templates", ("jinja2", "markupsafe", "templates/", ".html")),
    ("refportal", ("refportal/", "bench/floor/")),
    ("Flask", ("flask/", "werkzeug", "itsdangerous", "flask_login", "flask_babel", "babel/", "flask_limiter")),
)
COLUMNS = ("hooks", "database", "SQLAlchemy", "forms", "templates", "refportal", "Flask", "other")


def _bucket(path: str) -> str | None:
    for name, marks in BUCKETS:
        if any(mark in path for mark in marks):
            return name
    return None


def buckets(profiler: Profiler) -> Counter:
    """Seconds by bucket over the whole session."""
    totals: Counter = Counter()

    def walk(frame, inherited: str | None, in_hook: bool) -> None:
        in_hook = in_hook or frame.function in HOOKS
        own = _bucket(frame.file_path or "") or inherited
        totals["hooks" if in_hook else own or "other"] += frame.total_self_time
        for child in frame.children:
            walk(child, own, in_hook)

    root = profiler.last_session.root_frame() if profiler.last_session else None
    if root is not None:
        walk(root, None, False)
    return totals


def profile(client, hit) -> tuple[Counter, Profiler]:
    for _ in range(20):
        hit(client)
    profiler = Profiler(interval=0.001)
    profiler.start()
    for _ in range(REQUESTS):
        hit(client)
    profiler.stop()
    return buckets(profiler), profiler


def main() -> None:
    logging.disable(logging.INFO)
    OUT.mkdir(parents=True, exist_ok=True)
    url, live = run.prepare(int(os.environ.get("BENCH_SIZES", "1000").split(",")[0]))
    refportal_app, floor_app = run.app_for(url), create_floor(url, run.SECRET)
    lines = [
        f"ms per request ({REQUESTS} requests each, under pyinstrument): refportal / same-page floor",
        "",
        "| page | total | " + " | ".join(COLUMNS) + " |",
        "|---" * (len(COLUMNS) + 2) + "|",
    ]
    print("\n".join(lines), flush=True)
    for name, (email, path, method, form) in run.selected_pages(live).items():  # BENCH_PAGES, as `make bench`
        ours = refportal_app.test_client()
        login(ours, email, path)
        ours.get(path)
        theirs = floor_app.test_client()
        cookie = ours.get_cookie("session")
        if cookie is not None:  # none for the registry's anonymous pages
            theirs.set_cookie("session", cookie.value)
        data = form(ours, path) if form else None

        def hit(client, data=data, method=method, path=path):
            response = client.post(path, data=data) if method == "POST" else client.get(path)
            assert response.status_code in (200, 302), (path, response.status_code)

        (a, profiler), (b, _) = profile(ours, hit), profile(theirs, hit)
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        (OUT / f"{slug}.txt").write_text(
            profiler.output(ConsoleRenderer(unicode=True, color=False, processor_options={"filter_threshold": 0.01}))
        )

        def ms(totals: Counter, key: str | None = None) -> float:
            return (totals[key] if key else sum(totals.values())) * 1000 / REQUESTS

        cells = " | ".join(f"{ms(a, c):.1f} / {ms(b, c):.1f}" for c in COLUMNS)
        lines.append(f"| {name} | {ms(a):.1f} / {ms(b):.1f} | {cells} |")
        print(lines[-1], flush=True)
    (OUT.parent / "profile.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
