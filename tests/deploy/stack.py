"""The production stack on loopback, as docs/deployment.md's "Deploying" section builds it: a wheel installed in a
fresh virtual environment outside the checkout, PostgreSQL, Redis, gunicorn behind nginx with TLS,
the worker, and an SMTP server. Each process's output goes to a file shown when a check fails."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

# What the deploy files name for a real server, and what the test stack uses instead.
# The locations that proxy to gunicorn: every page, the pages that take a document (a larger body), and
# the public registry (cached).
UPSTREAM_LOCATIONS = 3
NGINX_PLACEHOLDERS = (
    "/var/cache/nginx/refportal",
    "listen 80;",
    "listen [::]:80;",
    "listen 443 ssl http2;",
    "listen [::]:443 ssl http2;",
    "/etc/letsencrypt/live/refs.example.org/fullchain.pem",
    "/etc/letsencrypt/live/refs.example.org/privkey.pem",
    "http://127.0.0.1:8000",
    "/srv/refportal/static/",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_ports(count: int) -> list[int]:
    """`count` different free ports (each held until all are chosen, so none is handed out twice)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def wait_for_port(port: int, process: subprocess.Popen | None = None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port} after {timeout} s")


@dataclass
class Processes:
    """Started processes with their logs; stopped (TERM, then KILL) in reverse order."""

    folder: Path
    running: list[tuple[str, subprocess.Popen, Path]] = field(default_factory=list)

    def start(self, name: str, args: list[str], **kwargs) -> subprocess.Popen:
        log = self.folder / f"{name}.log"
        handle = log.open("w")
        process = subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **kwargs)
        self.running.append((name, process, log))
        return process

    def logs(self) -> str:
        return "\n".join(
            f"----- {name} -----\n{log.read_text(errors='replace')[-4000:]}"
            for name, _, log in self.running
            if log.exists()
        )

    def stop_all(self) -> None:
        for _, process, _ in reversed(self.running):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _, process, _ in reversed(self.running):
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, args))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def build_and_install(folder: Path) -> Path:
    """Build the wheel from the checkout's tracked files (no earlier build/ folder whose leftovers could
    slip into it) and install it in a new virtual environment in `folder`."""
    dist, source = folder / "dist", folder / "source"
    tracked = run(["git", "ls-files", "-z"], cwd=ROOT).stdout.split("\0")
    for name in filter(None, tracked):
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    pip_wheel = ["pip", "wheel", "--quiet", "--no-deps", "--disable-pip-version-check", "-w", str(dist), str(source)]
    run([sys.executable, "-m", *pip_wheel])
    [wheel] = dist.glob("refportal-*.whl")
    venv = folder / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    run([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", str(wheel)])
    return venv


def installed_static(venv: Path) -> Path:
    result = run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import pathlib, refportal; print(pathlib.Path(refportal.__file__).parent / 'static')",
        ]
    )
    return Path(result.stdout.strip())


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ]
    )
    return cert, key


def nginx_site(
    *, https_port: int, http_port: int, cert: Path, key: Path, upstream_port: int, static: Path, cache: Path
) -> str:
    """deploy/nginx/refportal.conf with the test's ports and paths in place of the real server's."""
    site = (DEPLOY / "nginx" / "refportal.conf").read_text()
    replacements = {
        "/var/cache/nginx/refportal": str(cache),
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "/etc/letsencrypt/live/refs.example.org/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/refs.example.org/privkey.pem": str(key),
        "http://127.0.0.1:8000": f"http://127.0.0.1:{upstream_port}",
        "/srv/refportal/static/": f"{static}/",
    }
    for placeholder in NGINX_PLACEHOLDERS:
        times = UPSTREAM_LOCATIONS if placeholder == "http://127.0.0.1:8000" else 1
        assert site.count(placeholder) == times, f"deploy/nginx/refportal.conf no longer has {placeholder!r} {times}×"
        site = site.replace(placeholder, replacements[placeholder])
    return site


def start_nginx(processes: Processes, folder: Path, site: str) -> None:
    prefix = folder / "nginx"
    (prefix / "logs").mkdir(parents=True)
    (prefix / "refportal.conf").write_text(site)
    main = f"""
user root;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log info;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log {prefix}/logs/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/refportal.conf;
}}
"""
    (prefix / "nginx.conf").write_text(main)
    run(["nginx", "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")])
    processes.start("nginx", ["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"])


class HTTPSClient:
    """A browser-like client over https from one loopback address: keeps cookies, reads CSRF tokens."""

    def __init__(self, port: int, source: str, cafile: Path):
        self.port, self.source = port, source
        self.context = ssl.create_default_context(cafile=str(cafile))
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, form: dict | None = None, headers: dict | None = None, body: str | None = None
    ):
        connection = http.client.HTTPSConnection(
            "127.0.0.1", self.port, context=self.context, source_address=(self.source, 0), timeout=30
        )
        all_headers = {**(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            from urllib.parse import urlencode

            body = urlencode(form)
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        response.text = response.read().decode("utf-8", "replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        connection.close()
        return response

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post_form(self, path: str, form: dict, *, form_page: str | None = None):
        """GET the page, then POST the form with its CSRF token, as a browser does."""
        page = self.get(form_page or path)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
        assert token, f"no CSRF token on {form_page or path}: {page.status}"
        # A browser sends the page it came from; over https Flask-WTF checks it is the same site.
        referer = f"https://127.0.0.1:{self.port}{form_page or path}"
        return self.request("POST", path, form={"csrf_token": token.group(1), **form}, headers={"Referer": referer})


def http_get(url: str, timeout: float = 10):
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    connection.request("GET", parts.path)
    response = connection.getresponse()
    response.text = response.read().decode("utf-8", "replace")
    connection.close()
    return response


def which(program: str) -> str | None:
    return shutil.which(program) or next(
        (p for p in (f"/usr/sbin/{program}", f"/usr/bin/{program}") if os.path.exists(p)), None
    )
