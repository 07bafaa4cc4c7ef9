"""`flask references remind`: reminders and expiry, for cron."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from refportal.references.reminders import run_reminders
from refportal.transactions import unit_of_work

references_cli = AppGroup("references", help="Referee reminders and link expiry.")


@references_cli.command("remind")
def remind_command() -> None:
    """Send due reminders and expire links past their age (safe to run any number of times)."""
    with unit_of_work():
        reminded, expired = run_reminders()
    click.echo(f"reminders sent {reminded}, links expired {expired}")
