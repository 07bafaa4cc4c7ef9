"""Posting to an address outside the portal, safely (webhook deliveries): in production no host that
resolves to a loopback, private or reserved address, nor an IPv6 address carrying such an IPv4 address
(mapped, compatible, translated, NAT64, 6to4, Teredo); the host is resolved once, every address checked,
and the connection made to a checked address (a DNS answer that changes in between cannot steer it),
while Host, SNI and the certificate name the host."""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
from typing import Any
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
HOST_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}", re.IGNORECASE)


def is_host_name(host: str, *, bracketed: bool) -> bool:
    """An IP address (IPv6 in brackets, without a zone: that names an interface of the portal's own
    machine), or a DNS name (internationalised names in their ASCII form)."""
    try:
        return isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address) == bracketed and "%" not in host
    except ValueError:
        if bracketed:  # [v1.something]: an IP address of a future version
            return False
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.removesuffix(".").split(".")
    return len(ascii_host) <= 253 and all(HOST_LABEL.fullmatch(label) for label in labels)


# IPv6 ranges whose addresses carry an IPv4 address a packet may end up at (RFC 4291 IPv4-compatible,
# RFC 6145 IPv4-translated, RFC 6052 NAT64); ::ffff:0:0/96 (mapped), 2002::/16 (6to4) and 2001::/32
# (Teredo) are decoded by `ipaddress` itself.
LAST_32_BITS_IPV4 = [ipaddress.ip_network(n) for n in ("::/96", "::ffff:0:0:0/96", "64:ff9b::/96")]


# The local-use NAT64 prefix (RFC 8215) translates to whatever IPv4 network the local translator serves.
LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")


REFUSED = "a loopback, private or reserved address"


class AddressRefused(Exception):
    """Why the portal will not post to a host (a message for a person)."""


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries."""
    found = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    if any(ip in network for network in LAST_32_BITS_IPV4):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [v4 for v4 in found if v4 is not None]


def address_problem(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why the portal will not post to `ip` (None: it may)."""
    if not ip.is_global:
        return f"{ip}, {REFUSED}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in LOCAL_NAT64:
            return f"{ip}, a local NAT64 address ({REFUSED} of the IPv4 network behind it)"
        for v4 in embedded_ipv4(ip):
            if not v4.is_global:
                return f"{ip}, which carries the IPv4 address {v4}, {REFUSED}"
    return None


# What getaddrinfo answers: (family, socket address), ready to connect to.
Address = tuple[socket.AddressFamily, Any]


def resolve(host: str, port: int, *, allow_private: bool) -> list[Address]:
    """Every address `host` resolves to, looked up once; unless `allow_private`, each of them checked
    (AddressRefused names the first refused). The delivery connects only to these."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError):
        raise AddressRefused(f"{host} cannot be resolved.") from None
    addresses = list(dict.fromkeys((family, sockaddr) for family, _, _, _, sockaddr in infos))
    if not addresses:
        raise AddressRefused(f"{host} cannot be resolved.")
    if not allow_private:
        for _, sockaddr in addresses:
            problem = address_problem(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]))
            if problem:
                raise AddressRefused(f"{host} resolves to {problem}: the portal does not post there.")
    return addresses


def _connect(addresses: list[Address], timeout: float | None) -> socket.socket:
    """A TCP connection to the first of the checked addresses that answers."""
    error: OSError = OSError("no address to connect to")
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to addresses resolved and checked beforehand: the host name is not looked up again, so a
    DNS answer that changes after the check (DNS rebinding) cannot steer the connection elsewhere."""

    def __init__(self, host: str, port: int, *, addresses: list[Address], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.addresses = addresses

    def connect(self) -> None:
        self.sock = _connect(self.addresses, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS likewise; TLS still names the host (SNI) and verifies its certificate against the host name."""

    def __init__(self, host: str, port: int, *, addresses: list[Address], timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.addresses = addresses

    def connect(self) -> None:
        self.sock = self.tls.wrap_socket(_connect(self.addresses, self.timeout), server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float, allow_private: bool) -> tuple[int, str]:
    """POST `body` to `url` at an address checked when it was resolved (redirects are answers, not
    followed); its status and the start of its answer. Raises AddressRefused, OSError (TLS included),
    ValueError or http.client.HTTPException."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or DEFAULT_PORTS.get(parts.scheme, 443)
    addresses = resolve(host, port, allow_private=allow_private)
    kind = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = kind(host, port, addresses=addresses, timeout=timeout)
    try:
        connection.request("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), body, headers)
        response = connection.getresponse()
        return response.status, response.read(300).decode("utf-8", "replace")
    finally:
        connection.close()
