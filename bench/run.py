"""`make bench`: refportal's key pages against two floors, in one run on one machine.

Builds PostgreSQL databases of 1,000, 10,000 and 100,000 applications and serves, with gunicorn (2 workers
each): refportal; the same-page floor (bench/floor/: a minimal Flask app answering each key page with the
same bytes, checked before loading); and Flask's one-route "hello". Loads each page of refportal and of the
same-page floor in turn with wrk on loopback, and reports requests/s, p50/p99 latency and both ratios; SQL
statements per page at each size; the mail sender against plain smtplib into the same aiosmtpd sink; a
worker's peak memory. Results: bench/results/latest.md and latest.json, and the table in docs/benchmark.md."""

from __future__ import annotations

import http.cookiejar
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from flask_migrate import upgrade  # noqa: E402
from report import ratio, readme_summary, replace_between, results_markdown  # noqa: E402

from refportal import create_app  # noqa: E402
from refportal.extensions import db  # noqa: E402
from refportal.security.passwords import hash_password  # noqa: E402

SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "1000,10000,100000").split(",")]
# Only the pages whose names hold one of these words (e.g. "registry"), without the mail drain; the
# results go to bench/results/latest-<words>.md and .json and to docs/benchmark.md's section of the same name.
SELECTED = [word.strip() for word in os.environ.get("BENCH_PAGES", "").split(",") if word.strip()]
DURATION = int(os.environ.get("BENCH_SECONDS", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
DATABASE_PREFIX = os.environ.get("BENCH_DATABASE_PREFIX", "refportal_bench")  # the databases: <prefix>_<size>
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SECRET = "benchmark-secret-key-not-used-anywhere-else"
PASSWORD = "benchmark pass phrase"
BIN = Path(sys.executable).parent
OUT = ROOT / "bench" / "results"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def ensure_wrk() -> str:
    if shutil.which("wrk") is None and os.geteuid() == 0:
        log("installing Debian's wrk")
        subprocess.run(
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk",
            shell=True,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    path = shutil.which("wrk")
    if path is None:
        sys.exit("wrk is missing (apt-get install wrk)")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_database(n: int | str) -> str:
    name = f"{DATABASE_PREFIX}_{n}"
    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def app_for(url: str, **extra):
    return create_app(
        {
            "ENV_NAME": "production",
            "SECRET_KEY": SECRET,
            "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_ENABLED": False,
            "SESSION_COOKIE_SECURE": False,
            "INSTANCE_PATH": tempfile.mkdtemp(prefix="refportal-bench-"),
            **extra,
        }
    )


@dataclass(frozen=True)
class LivePaths:
    """Paths that depend on the data: the live referee link, and the queue's deep page as a reviewer
    reaches it by following Next (keyset: its cursor names the last row of the page before)."""

    referee_link: str
    deep_queue: str


def prepare(n: int) -> tuple[str, LivePaths]:
    """A database of `n` applications; returns its URL and the paths that depend on its data."""
    import data
    import queue_cursor

    from refportal.references.links import link_token
    from refportal.references.models import Reference

    url = fresh_database(n)
    started = time.monotonic()
    with app_for(url, ENV_NAME="test").app_context():
        upgrade()  # the real migrations: the production apps below find the schema at the head
    app = app_for(url)
    with app.app_context():
        password_hash = hash_password(PASSWORD)
        data.build(n, password_hash)
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO user_account (email, name, password_hash, role, created_at, "
                    "email_verified_at, session_version) VALUES ('reviewer@example.org', 'Rita Reviewer', "
                    ":h, 'reviewer', now(), now(), 1)"
                ),
                {"h": password_hash},
            )
            reviewer_id = conn.execute(
                sa.text("SELECT id FROM user_account WHERE email = 'reviewer@example.org'")
            ).scalar_one()
            conn.execute(sa.text("UPDATE reference SET status = 'in_progress', submitted_at = NULL WHERE id = 1"))
            conn.execute(sa.text("DELETE FROM rating WHERE reference_id = 1"))
            # The drafts the step save's load writes to, one per connection at a time: the first
            # reference of the draft applications with the highest ids (no measured page links to them).
            conn.execute(
                sa.text(
                    "UPDATE reference SET status = 'in_progress', submitted_at = NULL WHERE id IN ("
                    "SELECT min(r.id) FROM reference r JOIN application a ON a.id = r.application_id "
                    "WHERE a.status = 'draft' GROUP BY a.id ORDER BY a.id DESC LIMIT :k)"
                ),
                {"k": SAVE_DRAFTS},
            )
            conn.execute(
                sa.text(
                    "DELETE FROM rating WHERE reference_id IN (SELECT id FROM reference "
                    "WHERE status = 'in_progress' AND id <> 1)"
                )
            )
        data.add_review_rounds(reviewer_id)
        token = link_token(db.session.get(Reference, 1))
        deep_queue = queue_cursor.page_path(app)
        db.engine.dispose()
    log(f"{n:,} applications built in {time.monotonic() - started:.0f} s")
    return url, LivePaths(referee_link=f"/r/{token}", deep_queue=deep_queue)


class Server:
    def __init__(self, target: str, env: dict, cwd: Path):
        self.port = free_port()
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - open while the server runs
        self.process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                target,
            ],
            cwd=cwd,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=self.log,  # a file, never a pipe nobody reads (a full pipe would stall the workers)
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.base + "/", timeout=2)
                return
            except urllib.error.HTTPError:
                return  # it answers (the same-page floor has no "/")
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline:
                    self.process.kill()  # no server left behind by a run that stops here
                    self.log.seek(0)
                    raise RuntimeError(self.log.read().decode()) from None
                time.sleep(0.2)

    def peak_memory_kib(self) -> int:
        children = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout.split()
        peaks = []
        for pid in children:
            status = Path(f"/proc/{pid}/status").read_text()
            peaks.append(int(re.search(r"VmHWM:\s+(\d+)", status).group(1)))
        return max(peaks, default=0)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self.log.close()


def save_paths(url: str) -> list[str]:
    """The step save's paths for the load: one per draft prepare() set aside, so concurrent saves do not
    meet one draft's version."""
    from refportal.references.links import link_token
    from refportal.references.models import Reference

    app = app_for(url)
    with app.app_context():
        drafts = db.session.scalars(
            sa.select(Reference).where(Reference.status == "in_progress", Reference.id != 1).order_by(Reference.id)
        ).all()
        paths = [f"/r/{link_token(reference)}/step/{REFEREE_STEP}" for reference in drafts]
        db.engine.dispose()
    return paths


def session(base: str, email: str | None, path: str) -> tuple[str, str]:
    """Log in as `email` (None: no one, a referee) and open `path` as a browser would; returns the Cookie
    header (its session holds the CSRF secret, as a browser's does after one page) and the page's token."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    if email:
        page = opener.open(base + "/login").read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        opener.open(
            base + "/login",
            data=urllib.parse.urlencode({"csrf_token": token, "email": email, "password": PASSWORD}).encode(),
        )
    page = opener.open(base + path).read().decode()
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)  # the registry's pages have no form to post
    return "; ".join(f"{c.name}={c.value}" for c in jar), found.group(1) if found else ""


def wrk(url: str, cookie: str = "", body: str | None = None, paths: list[str] | None = None) -> dict:
    """wrk on `url`; given `paths`, each of its two threads goes round its own half of them."""
    args = [shutil.which("wrk"), "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}s", "--latency"]
    if cookie:
        args += ["-H", f"Cookie: {cookie}"]
    script = None
    if body is not None:
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115 - wrk reads it later
        script.write(
            f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
            'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        )
        if paths:
            script.write(
                f"local paths = {{{', '.join(json.dumps(p) for p in paths)}}}\n"
                "local half, made, counter = math.floor(#paths / 2), 0, 0\n"
                'function setup(thread) thread:set("offset", made * half); made = made + 1 end\n'
                "function request() counter = counter + 1\n"
                "  return wrk.format(nil, paths[offset + counter % half + 1]) end\n"
            )
        script.close()
        args += ["-s", script.name]
    output = subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout

    def latency(pct):
        value, unit = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", output).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": latency(50),
        "p99_ms": latency(99),
        "errors": int(errors.group(1)) if errors else 0,
    }


def statements_per_page(url: str, live: LivePaths) -> dict[str, int]:
    """SQL statements each page issues, counted in-process on the same database."""
    app = app_for(url)
    counts = {}
    with app.app_context():
        engine = db.engine
    for name, (email, path, method, form_for) in selected_pages(live).items():
        client = app.test_client()
        if email:
            page = client.get("/login").get_data(as_text=True)
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
            client.post("/login", data={"csrf_token": token, "email": email, "password": PASSWORD})
        data = form_for(client, path) if method == "POST" else None
        counter = [0]

        def listener(*_, counter=counter):
            counter[0] += 1

        sa.event.listen(engine, "before_cursor_execute", listener)
        response = client.post(path, data=data) if method == "POST" else client.get(path)
        sa.event.remove(engine, "before_cursor_execute", listener)
        assert response.status_code in (200, 302), (name, response.status_code)
        counts[name] = counter[0]
    with app.app_context():
        db.engine.dispose()
    return counts


# The step measured: the first competency step (three domains, nine statements), the heaviest page.
REFEREE_STEP = 2
# Its save: "Save draft" (stays on the step) with one statement answered. No "version": every request
# of a load repeats one body, so none claims the page's draft version; the save's UPDATE is still
# conditional on the version it read.
SAVE_DRAFTS = 32  # drafts the step save's load goes round (16 connections, two threads, each its half)
STEP_SAVE = {"action": "save", "item_theory_development": "3"}


def step_save_form(client, path: str) -> dict:
    """The step save's form (`client`, a test client, opens the step at `path` for its CSRF token)."""
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    return {"csrf_token": token, **STEP_SAVE}


def pages_to_measure(live: LivePaths) -> dict[str, tuple[str | None, str, str, object]]:
    """Each key page: (who signs in, or None for the referee's link and the registry's anonymous pages),
    path, method, POST form."""
    import data

    return {
        "referee step GET": (None, f"{live.referee_link}/step/{REFEREE_STEP}", "GET", None),
        "referee step save (POST)": (None, f"{live.referee_link}/step/{REFEREE_STEP}", "POST", step_save_form),
        "applicant dashboard": ("applicant1@example.org", "/dashboard", "GET", None),
        "application page": ("applicant1@example.org", "/applications/1", "GET", None),
        "reviewer queue, first page": ("reviewer@example.org", "/review/", "GET", None),
        "reviewer queue, deep page + filter": (
            "reviewer@example.org",
            live.deep_queue,
            "GET",
            None,
        ),
        "application file": ("reviewer@example.org", "/review/applications/2", "GET", None),
        "my assigned files": ("reviewer@example.org", "/review/mine", "GET", None),
        "review rounds": ("reviewer@example.org", "/review/rounds", "GET", None),
        "registry, first page (anonymous)": (None, "/registry/", "GET", None),
        "registry search by name (anonymous)": (None, f"/registry/?name={data.SURNAME_SEARCHED}", "GET", None),
        "registry search (anonymous)": (None, "/registry/?name=applicant&category=1", "GET", None),
        "registry verification (anonymous)": (None, f"/registry/{data.number_for(4)}", "GET", None),
    }


def selected_pages(live: LivePaths) -> dict[str, tuple[str | None, str, str, object]]:
    """The pages of this run: every key page, or those BENCH_PAGES names."""
    pages = pages_to_measure(live)
    if not SELECTED:
        return pages
    return {name: page for name, page in pages.items() if any(word in name for word in SELECTED)}


def best_query_paths(url: str) -> set[str]:
    """The paths the best-query floor (bench/floor/best_app.py) serves."""
    from floor.best_app import create as create_best

    app = create_best(url, SECRET)
    app.extensions["floor.engine"].dispose()
    return {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"}


def _served_by(paths: set[str], path: str) -> bool:
    return urllib.parse.urlsplit(path).path in paths


def load_pages(servers: dict[str, str], live: LivePaths, save_paths_of_run: list[str], best_paths: set[str]) -> dict:
    """Each page of refportal, then of the same-page floor, then of the best-query floor where it has the
    page, with one session (refportal's cookie, which the floors read too). `servers`: base URLs by app."""
    results = {}
    for name, (email, path, method, _form) in selected_pages(live).items():
        cookie, token = session(servers["refportal"], email, path)
        body = None
        if method == "POST":
            body = urllib.parse.urlencode({"csrf_token": token, **STEP_SAVE})
        paths = save_paths_of_run if method == "POST" else None
        ours = wrk(servers["refportal"] + path, cookie, body, paths)
        ours["floor"] = wrk(servers["floor"] + path, cookie, body, paths)
        if _served_by(best_paths, path):
            ours["best"] = wrk(servers["best"] + path, cookie, body, paths)
        results[name] = ours
        log(
            f"  {name}: {ours['rps']:.0f} req/s (p50 {ours['p50_ms']:.1f} ms, p99 {ours['p99_ms']:.1f} ms); "
            f"same-page floor {ours['floor']['rps']:.0f} req/s: {ratio(ours, 'floor'):.2f}×"
            + (f"; best-query floor {ours['best']['rps']:.0f} req/s" if "best" in ours else "")
        )
    return results


def same_bytes(url: str, live: LivePaths, best_paths: set[str]) -> dict[str, str]:
    """Each page's floors against refportal's page on this database: '' when the bytes are the same, else
    what differs (bench/floor/check.py)."""
    from floor.app import create as create_floor
    from floor.best_app import create as create_best
    from floor.check import compare, login

    refportal_app, floor_app, best_app = app_for(url), create_floor(url, SECRET), create_best(url, SECRET)
    differences = {}
    for name, page in selected_pages(live).items():
        problems = [compare(refportal_app, floor_app, SECRET, login, page)]
        if _served_by(best_paths, page[1]):
            found = compare(refportal_app, best_app, SECRET, login, page)
            problems.append(f"best-query floor: {found}" if found else "")
        differences[name] = "\n".join(p for p in problems if p)
    with refportal_app.app_context():
        db.engine.dispose()
    for app in (floor_app, best_app):
        app.extensions["floor.engine"].dispose()
    return differences


def registry_fronts(base: str, live: LivePaths) -> dict:
    """The registry's anonymous pages of this run through nginx, with and without its cache, and their
    repeats as 304s (bench/nginx_front.py)."""
    import nginx_front

    paths = {name: path for name, (email, path, _m, _f) in selected_pages(live).items() if name.startswith("registry")}
    return nginx_front.measure(base, paths) if paths else {}


def measure_size(n: int, hello_server: Server) -> dict:
    """Every selected page at `n` applications: refportal, its floors, hello; statements; memory."""
    url, live = prepare(n)
    best_paths = best_query_paths(url)
    differences = same_bytes(url, live, best_paths)
    for name, problem in differences.items():
        if problem:
            log(f"{n:,}: a floor of {name!r} differs from refportal's page:\n{problem}")
    refportal_env = {
        "REFPORTAL_ENV": "production",
        "SECRET_KEY": SECRET,
        "DATABASE_URL": url,
        "RATELIMIT_ENABLED": "false",
        "SESSION_COOKIE_SECURE": "false",
        "REFPORTAL_INSTANCE_PATH": tempfile.mkdtemp(),
    }
    floor_env = {"FLOOR_DATABASE_URL": url, "FLOOR_SECRET_KEY": SECRET}
    with (
        Server("refportal:create_app()", refportal_env, ROOT) as server,
        Server("floor.app:create()", floor_env, ROOT / "bench") as floor_server,
        Server("floor.best_app:create()", floor_env, ROOT / "bench") as best_server,
    ):
        servers = {"refportal": server.base, "floor": floor_server.base, "best": best_server.base}
        hello = wrk(hello_server.base + "/")
        log(f"{n:,}: hello {hello['rps']:.0f} req/s")
        pages = load_pages(servers, live, save_paths(url), best_paths)
        memory = server.peak_memory_kib()
        fronts = registry_fronts(server.base, live)
    return {
        "hello": hello,
        "pages": pages,
        "same_bytes": {name: not problem for name, problem in differences.items()},
        "statements": statements_per_page(url, live),
        "worker_peak_kib": memory,
        "registry_fronts": fronts,
    }


def main() -> None:
    ensure_wrk()
    OUT.mkdir(parents=True, exist_ok=True)
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "duration_s": DURATION,
        "connections": CONNECTIONS,
        "pages": SELECTED or "all",
        "sizes": {},
    }
    with Server("hello:app", {}, ROOT / "bench") as hello_server:
        for n in SIZES:
            report["sizes"][n] = measure_size(n, hello_server)
    if not SELECTED:
        import mail  # the sender against smtplib, three runs (bench/mail.py)

        report["mail"] = mail.measure_three(prepare(1000)[0])
    write(report)
    if not SELECTED:
        import documents  # the document store's uploads and downloads (bench/documents.py)

        print(documents.write(documents.measure()))
    if not all(all(entry["same_bytes"].values()) for entry in report["sizes"].values()):
        sys.exit("a same-page floor did not answer with refportal's bytes: its ratio means nothing (see above)")


def write(report: dict) -> None:
    table = results_markdown(report)
    slug = "-".join(SELECTED)
    suffix = f"-{slug}" if slug else ""
    (OUT / f"latest{suffix}.md").write_text(table + "\n")
    (OUT / f"latest{suffix}.json").write_text(json.dumps(report, indent=2))
    replace_between(ROOT / "docs" / "benchmark.md", f"bench{':' + slug if slug else ''}", table)
    if not SELECTED:
        replace_between(ROOT / "README.md", "bench:summary", readme_summary(report))
    print(table)


if __name__ == "__main__":
    main()
