"""`flask mail send [--watch]`: the outbox sender."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from refportal.extensions import db
from refportal.mail.sender import deliver_due

mail_cli = AppGroup("mail", help="Deliver the outbox.")


@contextmanager
def single_sender_on_sqlite() -> Iterator[None]:
    """SQLite cannot hand rows to several senders safely (no SKIP LOCKED): allow one at a time."""
    if db.engine.dialect.name != "sqlite":
        yield
        return
    lock_path = Path(current_app.instance_path) / "mail-sender.lock"
    with open(lock_path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise click.ClickException(
                "Another mail sender is running. On SQLite only one may run at a time; use PostgreSQL for several."
            ) from exc
        yield


@mail_cli.command("send")
@click.option("--watch", is_flag=True, help="Keep going, sending new messages as they are queued.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between rounds with --watch.")
def send_command(watch: bool, interval: float) -> None:
    """Deliver due messages over SMTP (MAIL_SERVER)."""
    if not current_app.config.get("MAIL_SERVER"):
        raise click.ClickException(
            "MAIL_SERVER is not set: messages stay in the outbox; "
            "in development read them in the mail viewer (/dev/mail)."
        )
    with single_sender_on_sqlite():
        while True:
            report = deliver_due()
            if report.claimed or not watch:
                click.echo(f"sent {report.sent}, retry later {report.retried}, failed {report.failed}")
            if not watch:
                return
            if report.claimed == 0:
                time.sleep(interval)


@mail_cli.command("bounces")
def bounces_command() -> None:
    """Read the delivery reports waiting in BOUNCE_IMAP_URL once (the worker polls it periodically)."""
    from imapclient.exceptions import IMAPClientError

    from refportal.mail.imap import BounceMailboxNotConfigured, poll_bounce_mailbox

    try:
        report = poll_bounce_mailbox()
    except BounceMailboxNotConfigured as exc:
        raise click.ClickException(str(exc)) from exc
    except (OSError, IMAPClientError) as exc:
        raise click.ClickException(f"the bounce mailbox could not be read: {exc}") from exc
    click.echo(
        f"reports {report.fetched}: acted on {report.acted}, ignored {report.ignored}, errors {report.errors}, "
        f"rejected {report.rejected}"
    )
