"""Does each floor answer with refportal's very bytes? Both apps in-process on the same database, one
login (refportal's) whose cookie both read; the CSRF tokens of a page may differ only in their signing
time, and each must be a valid token of the session. `python bench/floor/check.py` checks the database
of /tmp/bench_link-style arguments: DATABASE_URL REFEREE_LINK [page name...]."""

from __future__ import annotations

import difflib
import re
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

from itsdangerous import URLSafeTimedSerializer  # noqa: E402

from floor.app import create as create_floor  # noqa: E402

# A form's token field: csrf_token, or a prefixed form's (the file's verdict forms: verdict-education-csrf_token).
CSRF = re.compile(rb'(name="(?:[\w-]+-)?csrf_token"[^>]*value=")([^"]+)(")')


def _masked(body: bytes, secret: str, raw: str | None) -> tuple[bytes, list[str]]:
    """The body with every CSRF token replaced by a mark, and the problems of any that is not valid."""
    problems = []

    def mask(match: re.Match) -> bytes:
        token = match.group(2).decode()
        try:
            if URLSafeTimedSerializer(secret, salt="wtf-csrf-token").loads(token) != raw:
                problems.append(f"CSRF token {token[:12]}… is for another session")
        except Exception as exc:  # noqa: BLE001 - any failure is the problem to report
            problems.append(f"CSRF token {token[:12]}… does not load: {exc}")
        return match.group(1) + b"<csrf>" + match.group(3)

    return CSRF.sub(mask, body), problems


def compare(refportal_app, floor_app, secret: str, login, page) -> str:
    """'' when both apps answer `page` alike, else what differs. `login(client)` signs a refportal
    test client in; `page` is (email, path, method, form data or None)."""
    email, path, method, data = page
    ours = refportal_app.test_client()
    login(ours, email, path)
    ours.get(path)  # as a browser has been on the page: the session holds its CSRF secret
    theirs = floor_app.test_client()
    cookie = ours.get_cookie("session")  # none for the registry's pages: they keep no session
    if cookie is not None:
        theirs.set_cookie("session", cookie.value)
    with ours.session_transaction() as session:
        raw = session.get("csrf_token")
    if method == "POST":
        form = data(ours, path)
        theirs.set_cookie("session", ours.get_cookie("session").value)
        a, b = ours.post(path, data=form), theirs.post(path, data=form)
    else:
        a, b = ours.get(path), theirs.get(path)
    problems = []
    if (a.status_code, a.headers.get("Location")) != (b.status_code, b.headers.get("Location")):
        where = {"refportal": a, "floor": b}
        problems.append(", ".join(f"{k} {r.status_code} {r.headers.get('Location')}" for k, r in where.items()))
    body_a, problems_a = _masked(a.get_data(), secret, raw)
    body_b, problems_b = _masked(b.get_data(), secret, raw)
    problems += [f"refportal: {p}" for p in problems_a] + [f"floor: {p}" for p in problems_b]
    if body_a != body_b:
        diff = difflib.unified_diff(
            body_a.decode().splitlines(), body_b.decode().splitlines(), "refportal", "floor", lineterm="", n=1
        )
        problems.append("bodies differ:\n" + "\n".join(list(diff)[:60]))
    return "\n".join(problems)


PASSWORD = "benchmark pass phrase"  # bench/run.py's
SECRET = "benchmark-secret-key-not-used-anywhere-else"


def _token(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def login(client, email: str | None, path: str) -> None:
    """A refportal session: signed in as `email`, or (referee pages) one that opened the page."""
    if email is None:
        client.get(path)
        return
    token = _token(client, "/login")
    client.post("/login", data={"csrf_token": token, "email": email, "password": PASSWORD})


def main() -> int:
    import queue_cursor
    import run

    url, link = sys.argv[1], sys.argv[2]
    wanted = set(sys.argv[3:])
    refportal_app = run.app_for(url)
    floor_app = create_floor(url, SECRET)
    with refportal_app.app_context():
        live = run.LivePaths(referee_link=link, deep_queue=queue_cursor.page_path(refportal_app))
    failed = 0
    for name, page in run.pages_to_measure(live).items():
        if wanted and name not in wanted:
            continue
        problems = compare(refportal_app, floor_app, SECRET, login, page)
        print(f"{'SAME' if not problems else 'DIFFERS'}  {name}")
        if problems:
            failed += 1
            print(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
