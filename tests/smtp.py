"""A real SMTP server on a free loopback port (aiosmtpd), with answers a test can script."""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Delivered:
    peer: tuple
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes = b""  # as received (after the DATA end)
    mail_options: list[str] = field(default_factory=list)  # MAIL FROM's parameters, e.g. SIZE=1234


@dataclass
class RecordingHandler:
    """Accepts everything, except what `mail_replies` / `rcpt_replies` / `data_reply` say to refuse."""

    delivered: list[Delivered] = field(default_factory=list)
    mail_replies: dict[str, str] = field(default_factory=dict)  # envelope sender -> e.g. "550 not allowed"
    rcpt_replies: dict[str, str] = field(default_factory=dict)  # address -> e.g. "550 no such user"
    data_reply: str | None = None
    data_delay: float = 0.0  # seconds before answering DATA: a slow or stalling server
    close_after_accept: bool = False  # drop the connection right after accepting a message
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        reply = self.mail_replies.get(address.lower())
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_replies.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.data_reply:
            return self.data_reply
        raw = envelope.original_content or envelope.content
        message = message_from_bytes(raw, policy=policy.default)
        with self.lock:
            self.delivered.append(
                Delivered(
                    session.peer, envelope.mail_from, list(envelope.rcpt_tos), message, raw, list(envelope.mail_options)
                )
            )
        if self.close_after_accept:
            asyncio.get_running_loop().call_later(0.05, server.transport.close)
        return "250 Message accepted for delivery"

    def count(self, address: str) -> int:
        with self.lock:
            return sum(1 for d in self.delivered if d.rcpt_tos == [address])


class SMTPServer:
    def __init__(self):
        from aiosmtpd.controller import Controller

        self.handler = RecordingHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    @property
    def delivered(self) -> list[Delivered]:
        return self.handler.delivered
