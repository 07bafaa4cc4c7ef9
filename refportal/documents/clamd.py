"""A small client for ClamAV's daemon: PING, and INSTREAM (the bytes sent in chunks, the verdict read
back) over TCP (`tcp://host:port`) or a unix socket (`unix:///path`), as CLAMD_ADDRESS says."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

CHUNK = 64 * 1024


class ClamdUnavailable(RuntimeError):
    """clamd could not be reached, or did not give a verdict (the document stays pending)."""


@dataclass(frozen=True)
class Verdict:
    clean: bool
    signature: str | None = None  # what was found, when not clean


def _connect(address: str, timeout: float) -> socket.socket:
    parts = urlsplit(address)
    try:
        if parts.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(parts.path)
            return sock
        if parts.scheme == "tcp" and parts.hostname and parts.port:
            return socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    except OSError as exc:
        raise ClamdUnavailable(f"clamd at {address} cannot be reached: {exc}") from exc
    raise ClamdUnavailable(f"CLAMD_ADDRESS must be tcp://host:port or unix:///path, got {address!r}")


def _reply(sock: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\0"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.rstrip(b"\0").decode("utf-8", "replace").strip()


def ping(address: str, *, timeout: float = 5) -> bool:
    try:
        with _connect(address, timeout) as sock:
            sock.sendall(b"zPING\0")
            return _reply(sock) == "PONG"
    except (ClamdUnavailable, OSError):
        return False


def scan_chunks(address: str, chunks: Iterable[bytes], *, timeout: float) -> Verdict:
    """Stream the bytes to clamd (INSTREAM) and read its verdict."""
    try:
        with _connect(address, timeout) as sock:
            sock.sendall(b"zINSTREAM\0")
            for chunk in chunks:
                for start in range(0, len(chunk), CHUNK):
                    piece = chunk[start : start + CHUNK]
                    sock.sendall(struct.pack("!L", len(piece)) + piece)
            sock.sendall(struct.pack("!L", 0))
            reply = _reply(sock)
    except OSError as exc:  # a reset, a time-out: clamd may have refused an over-long stream
        raise ClamdUnavailable(f"clamd at {address} failed during the scan: {exc}") from exc
    # "stream: OK", "stream: Eicar-Signature FOUND", "INSTREAM size limit exceeded. ERROR", ...
    if reply.endswith(" OK"):
        return Verdict(clean=True)
    if reply.endswith(" FOUND"):
        return Verdict(clean=False, signature=reply.removeprefix("stream:").removesuffix("FOUND").strip())
    raise ClamdUnavailable(f"clamd at {address} answered: {reply or 'nothing'}")
