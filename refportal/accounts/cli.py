"""`flask create-user`: staff accounts from the command line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from refportal.accounts.models import Role
from refportal.accounts.services import create_user
from refportal.exceptions import Refused
from refportal.transactions import unit_of_work


@click.command("create-user")
@click.option("--email", required=True, help="The person's e-mail address (their login).")
@click.option("--name", required=True, help="Full name.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.REVIEWER.value, show_default=True)
@click.option("--password", help="Prompted for (hidden, twice) when not given.")
@with_appcontext
def create_user_command(email: str, name: str, role: str, password: str | None) -> None:
    """Create a verified account, typically a reviewer or an administrator."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with unit_of_work():
            user = create_user(email=email, name=name, role=Role(role), password=password)
    except (Refused, ValueError) as exc:
        raise click.ClickException(getattr(exc, "message", str(exc))) from exc
    click.echo(f"Created {user.role.value} {user.email} (id {user.id}).")
