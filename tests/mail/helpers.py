"""Shared steps for the mail tests: messages queued, the outbox read, the referees' addresses."""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa

from refportal.extensions import db
from refportal.mail.models import OutboxEmail
from refportal.mail.services import queue_email

SAM, RAE, COLE = "sam@example.net", "rae@example.net", "cole@example.net"


def row_to(app, address: str, template: str = "reference_request") -> OutboxEmail:
    with app.app_context():
        row = db.session.scalars(
            sa.select(OutboxEmail)
            .where(OutboxEmail.to_address == address, OutboxEmail.template == template)
            .order_by(OutboxEmail.id)
        ).first()
        assert row is not None
        db.session.expunge(row)
        return row


def queue(app, *addresses):
    with app.app_context():
        for address in addresses:
            queue_email(
                "verify_email", address, name="N", link="https://portal.example.test/verify-email/x", valid_hours=1
            )
        db.session.commit()


def rows(app):
    with app.app_context():
        found = list(db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)))
        db.session.expunge_all()
        return found


ROOT = Path(__file__).resolve().parents[2]


def queue_many(app, count: int) -> list[str]:
    addresses = [f"bulk{n}@example.org" for n in range(count)]
    with app.app_context():
        for address in addresses:
            queue_email(
                "verify_email", address, name="N", link="https://portal.example.test/verify-email/x", valid_hours=1
            )
        db.session.commit()
    return addresses


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
