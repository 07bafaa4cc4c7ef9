"""Real servers for the document store's tests: Debian's clamd with a signature database the tests make
(the EICAR test string, and any file a test marks as infected), and moto's S3-compatible server, each on
loopback in a temporary folder."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.smtp import free_port

CLAMD = "/usr/sbin/clamd"
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
START_TIMEOUT = 60


def clamd_binary() -> str | None:
    return CLAMD if Path(CLAMD).exists() else shutil.which("clamd")


def hdb_line(content: bytes, name: str) -> str:
    """A ClamAV hash signature (md5:size:name) matching exactly `content`."""
    return f"{hashlib.md5(content).hexdigest()}:{len(content)}:{name}\n"  # noqa: S324 - ClamAV's format


class ClamdServer:
    """clamd in the foreground on a free loopback port and a unix socket, with only test signatures."""

    def __init__(self, infected: dict[str, bytes] | None = None):
        self.tmp = Path(tempfile.mkdtemp(prefix="refportal-clamd-"))
        self.port = free_port()
        self.socket = self.tmp / "clamd.sock"
        self.infected = {"Refportal.Test.EICAR": EICAR, **(infected or {})}
        self.process: subprocess.Popen | None = None

    @property
    def tcp_address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    @property
    def unix_address(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> ClamdServer:
        database = self.tmp / "db"
        database.mkdir()
        (database / "refportal-test.hdb").write_text(
            "".join(hdb_line(content, name) for name, content in self.infected.items())
        )
        config = self.tmp / "clamd.conf"
        config.write_text(
            "Foreground yes\n"
            f"LocalSocket {self.socket}\n"
            f"TCPSocket {self.port}\nTCPAddr 127.0.0.1\n"
            f"DatabaseDirectory {database}\n"
            f"LogFile {self.tmp / 'clamd.log'}\n"
            "StreamMaxLength 64M\nSelfCheck 0\n"
        )
        self.process = subprocess.Popen(
            [clamd_binary() or CLAMD, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        from refportal.documents.clamd import ping

        deadline = time.monotonic() + START_TIMEOUT
        while not (ping(self.tcp_address, timeout=1) and ping(self.unix_address, timeout=1)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (self.tmp / "clamd.log").read_text() if (self.tmp / "clamd.log").exists() else ""
                self.stop()
                raise RuntimeError(f"clamd did not start: {log[-2000:]}")
            time.sleep(0.1)  # polling for readiness, not timing a test
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def moto_binary() -> str | None:
    import sys

    beside = Path(sys.executable).parent / "moto_server"
    return str(beside) if beside.exists() else shutil.which("moto_server")


class MotoServer:
    """moto's S3-compatible server on a free loopback port."""

    def __init__(self):
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        import urllib.request

        self.process = subprocess.Popen(
            [moto_binary() or "moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1):  # noqa: S310 - loopback
                    break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)  # polling for readiness, not timing a test
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
