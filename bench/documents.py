"""The document store under load (part of `make bench`; alone: `python bench/documents.py`).

Serves refportal with gunicorn (2 workers, production mode, the filesystem backend, Debian's clamd on
loopback when it is installed: each upload is scanned at once as in production) and measures, with
BENCH_UPLOAD_CLIENTS clients over HTTP on loopback:

- uploads of a 5 MB PDF through the applicant's documents page (multipart, CSRF, sniffed, scanned,
  stored): uploads/s and MB/s;
- downloads of that document (`/documents/<id>`, streamed from the backend): downloads/s and MB/s;
- each worker's peak resident memory growth (VmHWM after the phase minus VmRSS before it, the peak reset
  through /proc/<pid>/clear_refs; after two warm-up uploads per client) during the uploads, during a 50 MB
  upload attempt over the page's limit (answered 413 before its body is read), and during the downloads.

Writes bench/results/documents.json and the table between the bench-documents markers in
docs/benchmark.md."""

from __future__ import annotations

import http.client
import json
import os
import re
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import requests  # noqa: E402
import run  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from refportal.extensions import db  # noqa: E402

DURATION = int(os.environ.get("BENCH_SECONDS", "5"))
CLIENTS = int(os.environ.get("BENCH_UPLOAD_CLIENTS", "4"))
OVER_LIMIT = 50 * 1024 * 1024
APPLICANT = "bench-documents@example.org"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
MIB = 1024 * 1024


def five_mb_pdf() -> bytes:
    from tests.documents_samples import pdf

    return pdf("a 5 MB scan for the benchmark", payload_bytes=5 * MIB)


def prepare() -> tuple[str, int]:
    """A fresh database at the migrations' head with one applicant's draft application."""
    from tests.factories import make_application, make_user

    url = run.fresh_database("documents")
    with run.app_for(url, ENV_NAME="test").app_context():
        upgrade()
    app = run.app_for(url)
    with app.app_context():
        applicant = make_user(email=APPLICANT, name="Bench Applicant", password=run.PASSWORD)
        application_id = make_application(applicant).id
        db.engine.dispose()
    return url, application_id


def logged_in(base: str, page: str) -> tuple[requests.Session, str]:
    """A signed-in session and the CSRF token of `page` (a login starts a new session)."""
    browser = requests.Session()
    token = CSRF.search(browser.get(base + "/login").text).group(1)
    answer = browser.post(
        base + "/login", data={"csrf_token": token, "email": APPLICANT, "password": run.PASSWORD}, allow_redirects=False
    )
    assert answer.status_code == 302, answer.text
    return browser, CSRF.search(browser.get(base + page).text).group(1)


class Workers:
    """The gunicorn workers' memory: VmRSS now, and the peak (VmHWM) since clear()."""

    def __init__(self, server: run.Server):
        self.pids = run.subprocess.run(
            ["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True
        ).stdout.split()

    def _field(self, pid: str, name: str) -> int:
        status = Path(f"/proc/{pid}/status").read_text()
        return int(re.search(rf"{name}:\s+(\d+)", status).group(1))

    def clear(self) -> dict[str, int]:
        """Reset each worker's peak to its present size; returns the present sizes (KiB)."""
        for pid in self.pids:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        return {pid: self._field(pid, "VmRSS") for pid in self.pids}

    def growth_kib(self, before: dict[str, int]) -> int:
        """The largest growth of a worker's peak over its size before the phase."""
        growths = [self._field(pid, "VmHWM") - before[pid] for pid in self.pids]
        run.log(f"documents: workers' peak growth {growths} KiB over {list(before.values())} KiB")
        return max(growths)


def for_duration(work, clients: int) -> tuple[int, float, list[int]]:
    """Run work() in `clients` threads for DURATION seconds; (calls done, seconds, statuses not expected)."""
    done, problems, lock = [0], [], threading.Lock()
    deadline = time.monotonic() + DURATION

    def loop(index: int) -> None:
        state = {}
        while time.monotonic() < deadline:
            status = work(index, state)
            with lock:
                if status is None:
                    done[0] += 1
                else:
                    problems.append(status)

    started = time.monotonic()
    threads = [threading.Thread(target=loop, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0], time.monotonic() - started, problems


def over_limit_attempt(base: str, cookie: str, path: str) -> int:
    """POST a 50 MB multipart body, as a browser would send it, and return the status (the portal may answer
    and close before the body is sent: the client stops sending then)."""
    parts = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.putrequest("POST", path)
    connection.putheader("Content-Type", "multipart/form-data; boundary=benchboundary")
    connection.putheader("Content-Length", str(OVER_LIMIT))
    connection.putheader("Cookie", cookie)
    connection.endheaders()
    chunk = b"\0" * (256 * 1024)
    try:
        for _ in range(OVER_LIMIT // len(chunk)):
            connection.send(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        return connection.getresponse().status
    except (ConnectionResetError, http.client.RemoteDisconnected):
        return 0
    finally:
        connection.close()


def measure() -> dict:
    from tests.documents_servers import ClamdServer, clamd_binary

    content = five_mb_pdf()
    url, application_id = prepare()
    clamd = ClamdServer().start() if clamd_binary() else None
    directory = tempfile.mkdtemp(prefix="refportal-bench-documents-")
    server = run.Server(
        "refportal:create_app()",
        {
            "REFPORTAL_ENV": "production",
            "SECRET_KEY": run.SECRET,
            "DATABASE_URL": url,
            "RATELIMIT_ENABLED": "false",
            "SESSION_COOKIE_SECURE": "false",
            "REFPORTAL_INSTANCE_PATH": tempfile.mkdtemp(),
            "DOCUMENT_STORAGE": "filesystem",
            "DOCUMENT_DIRECTORY": directory,
            "DOCUMENT_MAX_PER_APPLICATION": "100000",
            "CLAMD_ADDRESS": clamd.tcp_address if clamd else "",
        },
        ROOT,
    )
    page = f"/applications/{application_id}/documents"
    report: dict = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores (shared)",
        "clients": CLIENTS,
        "duration_s": DURATION,
        "document_bytes": len(content),
        "clamd": clamd is not None,
    }
    try:
        workers = Workers(server)
        sessions = [logged_in(server.base, page) for _ in range(CLIENTS)]

        def upload(index: int, state: dict) -> int | None:
            browser, token = sessions[index]
            name = f"scan-{uuid.uuid4().hex[:8]}.pdf"
            answer = browser.post(
                server.base + page,
                data={"csrf_token": token, "purpose": "transcript"},
                files={"document": (name, content, "application/pdf")},
                allow_redirects=False,
            )
            return None if answer.status_code == 302 else answer.status_code

        for index in range(2 * CLIENTS):  # warm up: each worker has imported what an upload uses (pypdf, Pillow)
            assert upload(index % CLIENTS, {}) is None, "the warm-up upload was refused"
        before = workers.clear()
        report["worker_rss_kib"] = max(before.values())
        count, seconds, problems = for_duration(upload, CLIENTS)
        report["uploads"] = {
            "count": count,
            "per_s": count / seconds,
            "mb_per_s": count * len(content) / MIB / seconds,
            "refused": len(problems),
            "rss_growth_kib": workers.growth_kib(before),
        }
        per_s = report["uploads"]["per_s"]
        run.log(f"documents: {count} uploads in {seconds:.1f} s ({per_s:.1f}/s); refused {problems[:5]}")

        browser, _ = sessions[0]
        listing = browser.get(server.base + page).text
        ids = re.findall(r'href="/documents/(\d+)"', listing)
        assert ids, "no document ready to download (is clamd running?)" if clamd else "no document ready"
        document = f"/documents/{ids[0]}"

        cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
        before = workers.clear()
        statuses = [over_limit_attempt(server.base, cookie, page) for _ in range(3)]
        report["over_limit"] = {"statuses": statuses, "rss_growth_kib": workers.growth_kib(before)}
        run.log(f"documents: 50 MB over the limit answered {statuses}")

        def download(index: int, state: dict) -> int | None:
            reader, _ = sessions[index]
            with reader.get(server.base + document, stream=True) as answer:
                size = sum(len(chunk) for chunk in answer.iter_content(256 * 1024))
            return None if answer.status_code == 200 and size == len(content) else answer.status_code

        before = workers.clear()
        count, seconds, problems = for_duration(download, CLIENTS)
        report["downloads"] = {
            "count": count,
            "per_s": count / seconds,
            "mb_per_s": count * len(content) / MIB / seconds,
            "failed": len(problems),
            "rss_growth_kib": workers.growth_kib(before),
        }
        run.log(f"documents: {count} downloads in {seconds:.1f} s ({report['downloads']['per_s']:.1f}/s)")
    finally:
        server.stop()
        if clamd is not None:
            clamd.stop()
    return report


def table(report: dict) -> str:
    uploads, downloads, over = report["uploads"], report["downloads"], report["over_limit"]
    scan = "each scanned at once by clamd on loopback" if report["clamd"] else "no clamd: kept pending"
    return "\n".join(
        [
            f"Measured {report['date']} on {report['machine']}; a {report['document_bytes'] / MIB:.1f} MB PDF, "
            f"{report['clients']} clients × {report['duration_s']} s over loopback, gunicorn 2 workers, filesystem "
            f"backend, {scan}; a worker's size after the warm-up: {report['worker_rss_kib'] / 1024:.0f} MiB.",
            "",
            "| phase | per second | MB/s | worker peak RSS growth |",
            "|---|---|---|---|",
            f"| upload (applicant's page: multipart, CSRF, sniffing, scan, store) | {uploads['per_s']:.1f} uploads "
            f"| {uploads['mb_per_s']:.1f} | {uploads['rss_growth_kib'] / 1024:.1f} MiB |",
            f"| 50 MB upload over the limit (×3; answered {', '.join(map(str, over['statuses']))}) | — | — "
            f"| {over['rss_growth_kib'] / 1024:.1f} MiB |",
            f"| download (`/documents/<id>`, streamed) | {downloads['per_s']:.1f} downloads "
            f"| {downloads['mb_per_s']:.1f} | {downloads['rss_growth_kib'] / 1024:.1f} MiB |",
        ]
    )


def write(report: dict) -> str:
    run.OUT.mkdir(parents=True, exist_ok=True)
    (run.OUT / "documents.json").write_text(json.dumps(report, indent=2))
    text = table(report)
    page = ROOT / "docs" / "benchmark.md"
    content = page.read_text()
    start, end = "<!-- bench-documents:start -->", "<!-- bench-documents:end -->"
    if start in content:
        content = content[: content.index(start) + len(start)] + "\n" + text + "\n" + content[content.index(end) :]
        page.write_text(content)
    return text


def main() -> None:
    print(write(measure()))


if __name__ == "__main__":
    main()
