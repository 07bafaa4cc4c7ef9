"""nginx in front of a server for the benchmark: the cache of the public registry as deployed.

`NginxFront(upstream_base, cache=True)` starts Debian's nginx on a free loopback port (plain HTTP, its own
temporary prefix and cache folder) proxying every path to `upstream_base` (e.g. refportal's gunicorn at
http://127.0.0.1:PORT); `.base` is its URL; `.stop()` stops it and removes its folder. Its directives are
deploy/nginx/refportal.conf's, read from that file: the `proxy_cache_path` (its folder moved to the
temporary prefix), the TLS server's `proxy_*` settings, and its `location /` and `location /registry/`
with their upstream replaced; with `cache=False` the registry's location says `proxy_cache off;` (nginx
then only passes requests through, as for any other page). TLS is left out: the bench compares the
cache's effect, not the handshake.

Alone, `python bench/nginx_front.py` measures the registry's pages on the benchmark's databases (from
`make bench` or `BENCH_PAGES=registry … bench/run.py`, named by BENCH_DATABASE_PREFIX and BENCH_SIZES):
refportal's gunicorn direct, behind nginx without its cache, behind it with the cache (every answer a
HIT), and the repeat with `If-None-Match` (a 304), from nginx's cache and from refportal itself. It
writes bench/results/latest-registry-nginx.md and .json and docs/benchmark.md's section of that name."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "deploy" / "nginx" / "refportal.conf"
DEPLOYED_UPSTREAM = "http://127.0.0.1:8000"
DEPLOYED_CACHE_FOLDER = "/var/cache/nginx/refportal"
REGISTRY_LOCATION = "location /registry/"
WRITTEN = ("body", "proxy", "fastcgi", "uwsgi", "scgi", "cache")  # the folders nginx's workers write to


def _blocks(text: str) -> list[tuple[str, str]]:
    """The top-level `head { body }` blocks of nginx configuration text (without comments), as (head, body)."""
    blocks, depth, head_start, body_start = [], 0, 0, 0
    for i, char in enumerate(text):
        if char == "{":
            if depth == 0:
                body_start = i + 1
                head = text[head_start:i]
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                blocks.append((head.strip(), text[body_start:i]))
                head_start = i + 1
        elif char == ";" and depth == 0:
            head_start = i + 1
    return blocks


def _without_comments(text: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def _directives(body: str) -> list[str]:
    """The simple directives of a block's own level (not its nested blocks nor their heads); no comments."""
    directives, current, depth = [], "", 0
    for char in body:
        if char == "{":
            depth += 1
            current = ""  # a nested block's head
        elif char == "}":
            depth -= 1
        elif depth == 0 and char == ";":
            directives.append(current.strip() + ";")
            current = ""
        elif depth == 0:
            current += char
    return directives


def deployed_site() -> dict[str, object]:
    """What the bench takes from deploy/nginx/refportal.conf: the cache path line, the TLS server's proxy_*
    directives, and the bodies of its `location /` and `location /registry/`."""
    text = _without_comments(SITE.read_text())
    [cache_path] = [d for d in _directives(text) if d.startswith("proxy_cache_path ")]
    [tls] = [body for head, body in _blocks(text) if head == "server" and "ssl" in body.split("location", 1)[0]]
    locations = dict(_blocks(tls))
    return {
        "cache_path": cache_path,
        "proxy": [d for d in _directives(tls) if d.startswith("proxy_")],
        "root": locations["location /"],
        "registry": locations[REGISTRY_LOCATION],
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NginxFront:
    """nginx on loopback in front of `upstream_base`, with the deployed registry cache on or off."""

    def __init__(self, upstream_base: str, *, cache: bool = True) -> None:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(nginx):
            raise RuntimeError("nginx is missing (apt-get install nginx)")
        site = deployed_site()
        self.cache = cache
        self.prefix = Path(tempfile.mkdtemp(prefix="refportal-bench-nginx-"))
        (self.prefix / "logs").mkdir()
        # As root, nginx's workers run as `nobody`: the folders they write to are theirs.
        user = ""
        if os.geteuid() == 0:
            user = "user nobody nogroup;"
            self.prefix.chmod(0o755)
            for folder in WRITTEN:
                (self.prefix / folder).mkdir()
                shutil.chown(self.prefix / folder, "nobody", "nogroup")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        upstream = upstream_base.rstrip("/")
        registry = site["registry"].replace(DEPLOYED_UPSTREAM, upstream)
        if not cache:
            registry, replaced = re.subn(r"^(\s*)proxy_cache \w+;", r"\1proxy_cache off;", registry, flags=re.M)
            assert replaced == 1, "deploy/nginx/refportal.conf's registry location has no proxy_cache line"
        proxy = "\n    ".join(site["proxy"])
        conf = f"""
{user}
worker_processes 1;
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {self.prefix}/body;
    proxy_temp_path {self.prefix}/proxy;
    fastcgi_temp_path {self.prefix}/fastcgi;
    uwsgi_temp_path {self.prefix}/uwsgi;
    scgi_temp_path {self.prefix}/scgi;
    {site["cache_path"].replace(DEPLOYED_CACHE_FOLDER, str(self.prefix / "cache"))}
    server {{
        listen 127.0.0.1:{self.port};
        {proxy}
        location / {{{site["root"].replace(DEPLOYED_UPSTREAM, upstream)}}}
        {REGISTRY_LOCATION} {{{registry}}}
    }}
}}
"""
        self.conf = self.prefix / "nginx.conf"
        self.conf.write_text(conf)
        args = [nginx, "-p", str(self.prefix), "-c", str(self.conf)]
        checked = subprocess.run([*args, "-t"], capture_output=True, text=True)
        if checked.returncode != 0:
            raise RuntimeError(f"nginx refused the bench's configuration:\n{checked.stderr}\n{conf}")
        self.process = subprocess.Popen(
            [*args, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(self.error_log()) from None
                time.sleep(0.05)

    def error_log(self) -> str:
        log = self.prefix / "logs" / "error.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish the requests in flight
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.prefix, ignore_errors=True)

    def __enter__(self) -> NginxFront:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET `url`: its status, headers and body (a 304 or an error status too, without raising)."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as answer:
        return answer.code, dict(answer.headers), answer.read()


def warm(front: NginxFront, path: str) -> str:
    """Put the page in the front's cache and check that the next request is a HIT; returns its ETag."""
    status, headers, _ = fetch(front.base + path)
    assert status == 200, (path, status, front.error_log())
    status, headers, _ = fetch(front.base + path)
    assert headers.get("X-Cache-Status") == "HIT", (path, headers, front.error_log())
    return headers["ETag"]


# --- Measuring the registry's pages three ways (alone: python bench/nginx_front.py) ---------------------


def wrk(url: str, headers: dict[str, str]) -> dict:
    """wrk on `url` with these request headers: req/s, p50/p99 in ms, and answers by kind."""
    import run

    args = [shutil.which("wrk"), "-t2", f"-c{run.CONNECTIONS}", f"-d{run.DURATION}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    output = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout

    def latency(pct: int) -> float:
        value, unit = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", output).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": latency(50),
        "p99_ms": latency(99),
        "errors": int(errors.group(1)) if errors else 0,
    }


WAYS = (
    ("gunicorn", "refportal's gunicorn, direct"),
    ("nginx", "through nginx, cache off"),
    ("cached", "through nginx's cache (HIT)"),
    ("304 cached", "If-None-Match, nginx's cache (304)"),
    ("304 gunicorn", "If-None-Match, refportal direct (304)"),
)


def measure(upstream: str, paths: dict[str, str]) -> dict[str, dict[str, dict]]:
    """Each registry page of `paths` (name → path) loaded the five ways of WAYS."""
    results: dict[str, dict[str, dict]] = {}
    with NginxFront(upstream, cache=False) as plain, NginxFront(upstream, cache=True) as cached:
        for name, path in paths.items():
            etag = warm(cached, path)
            status, headers, _ = fetch(upstream + path, {"If-None-Match": etag})
            assert status == 304, (path, status, headers)  # refportal's own answer to the repeat
            results[name] = {
                "gunicorn": wrk(upstream + path, {}),
                "nginx": wrk(plain.base + path, {}),
                "cached": wrk(cached.base + path, {}),
                "304 cached": wrk(cached.base + path, {"If-None-Match": etag}),
                "304 gunicorn": wrk(upstream + path, {"If-None-Match": etag}),
            }
            line = ", ".join(f"{way} {results[name][way]['rps']:,.0f}" for way, _ in WAYS)
            run_log(f"  {name}: req/s {line}")
    return results


def run_log(message: str) -> None:
    print(f"[nginx-front {time.strftime('%H:%M:%S')}] {message}", flush=True)


def main() -> None:
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    import run

    run.ensure_wrk()
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "duration_s": run.DURATION,
        "connections": run.CONNECTIONS,
        "sizes": {},
    }
    for n in run.SIZES:
        url = run.ADMIN_URL.rsplit("/", 1)[0] + f"/{run.DATABASE_PREFIX}_{n}"
        paths = {
            name: path for name, (_, path, _, _) in run.pages_to_measure("").items() if name.startswith("registry")
        }
        server = run.Server(
            "refportal:create_app()",
            {
                "REFPORTAL_ENV": "production",
                "SECRET_KEY": run.SECRET,
                "DATABASE_URL": url,
                "RATELIMIT_ENABLED": "false",
                "SESSION_COOKIE_SECURE": "false",
                "REFPORTAL_INSTANCE_PATH": tempfile.mkdtemp(),
            },
            ROOT,
        )
        try:
            run_log(f"{n:,} endorsements")
            report["sizes"][n] = measure(server.base, paths)
        finally:
            server.stop()
    write(report)


def write(report: dict) -> None:
    sizes = sorted(report["sizes"])
    header = " | ".join(label for _, label in WAYS)
    lines = [
        f"Measured {report['date']} on {report['machine']}; wrk {report['connections']} connections × "
        f"{report['duration_s']} s per row, anonymous; gunicorn 2 workers; nginx 1 worker, plain HTTP on "
        "loopback, deploy/nginx/refportal.conf's proxy and cache directives (bench/nginx_front.py). "
        "req/s (p50 ms).",
        "",
        f"| page | size | {header} |",
        "|---|---|" + "---|" * len(WAYS),
    ]
    for name in report["sizes"][sizes[0]]:
        for n in sizes:
            row = report["sizes"][n][name]
            cells = " | ".join(
                f"{row[way]['rps']:,.0f} ({row[way]['p50_ms']:.1f})"
                + (f" {row[way]['errors']} errors" if row[way]["errors"] else "")
                for way, _ in WAYS
            )
            lines.append(f"| {name} | {n:,} | {cells} |")
    table = "\n".join(lines)
    out = ROOT / "bench" / "results"
    (out / "latest-registry-nginx.md").write_text(table + "\n")
    (out / "latest-registry-nginx.json").write_text(json.dumps(report, indent=2))
    page = ROOT / "docs" / "benchmark.md"
    text = page.read_text()
    start, end = "<!-- bench:registry-nginx:start -->", "<!-- bench:registry-nginx:end -->"
    if start in text:
        text = text[: text.index(start) + len(start)] + "\n" + table + "\n" + text[text.index(end) :]
        page.write_text(text)
    print(table)


if __name__ == "__main__":
    main()
