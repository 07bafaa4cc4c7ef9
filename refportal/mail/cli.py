"""`flask mail send [--watch]`: the outbox sender."""
from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from refportal.mail.sender import MailNotConfigured, deliver_due

mail_cli = AppGroup("mail", help="Deliver the outbox.")


@mail_cli.command("send")
@click.option("--watch", is_flag=True, help="Keep going, sending new messages as they are queued.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between rounds with --watch.")
def send_command(watch: bool, interval: float) -> None:
    """Deliver due messages over SMTP (MAIL_SERVER)."""
    while True:
        try:
            report = deliver_due()
        except MailNotConfigured:
            raise click.ClickException(
                "MAIL_SERVER is not set: messages stay in the outbox; in development read them in the mail viewer (/dev/mail)."
            )
        if report.claimed or not watch:
            click.echo(f"sent {report.sent}, retry later {report.retried}, failed {report.failed}")
        if not watch:
            return
        if report.claimed == 0:
            time.sleep(interval)
