"""The path of the reviewer queue's N-th page as its own links lead there.

The queue pages by keyset: page N's link (the Next link of page N-1) is
`/review/?page=N&after=<cursor of page N-1's last row>&<the filters>`, the cursor depending on the data. A
bare `?page=N` still works, but is read with OFFSET (its cost grows with N): the bench measures the page a
reviewer reaches by following Next. This walks the Next links in-process, signed in as the benchmark's
reviewer, and returns the path to load.

    .venv/bin/python bench/queue_cursor.py DATABASE_URL [PAGE] [FILTERS]

prints the path of page PAGE (20) for FILTERS ("status=submitted&sort=name")."""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

DEEP_PAGE = 20
DEEP_FILTERS = "status=submitted&sort=name"
REVIEWER = "reviewer@example.org"  # bench/run.py's prepare()


def page_path(app, page: int = DEEP_PAGE, filters: str = DEEP_FILTERS, email: str = REVIEWER) -> str:
    """The path of the queue's `page`-th page for `filters`, on `app`'s database (refportal's app, e.g.
    run.app_for(url)): the first page's path, then each Next link in turn."""
    from floor.check import login

    client = app.test_client()
    login(client, email, "/review/")
    path = "/review/" + (f"?{filters}" if filters else "")
    for number in range(2, page + 1):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        found = re.search(r'<a href="([^"]+)" rel="next">', response.get_data(as_text=True))
        if found is None:
            raise LookupError(f"the queue for {filters!r} has {number - 1} pages, not {page}")
        path = html.unescape(found.group(1))
    return path


def main() -> None:
    import run

    url = sys.argv[1]
    page = int(sys.argv[2]) if len(sys.argv) > 2 else DEEP_PAGE
    filters = sys.argv[3] if len(sys.argv) > 3 else DEEP_FILTERS
    app = run.app_for(url)
    print(page_path(app, page, filters))
    with app.app_context():
        from refportal.extensions import db

        db.engine.dispose()


if __name__ == "__main__":
    main()
