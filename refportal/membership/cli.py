"""`flask membership import FILE.csv`: the association's roster."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from refportal.accounts.models import Role, User
from refportal.db import utc_today
from refportal.extensions import db
from refportal.membership.roster import RosterInvalid, import_roster, parse_roster
from refportal.transactions import unit_of_work

membership_cli = AppGroup("membership", help="Membership roster.")


@membership_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--as", "admin_email", required=True, help="The administrator recorded as the verifier.")
def import_command(path: str, admin_email: str) -> None:
    """Verify declared memberships from a roster CSV (member_number,email,name,expires_on)."""
    admin = db.session.scalar(sa.select(User).where(User.email == admin_email.strip().lower(), User.role == Role.ADMIN))
    if admin is None:
        raise click.ClickException(f"No administrator with the e-mail {admin_email}.")
    try:
        with open(path, encoding="utf-8-sig") as handle:
            rows = parse_roster(handle.read())
    except UnicodeDecodeError as exc:
        raise click.ClickException("The file is not UTF-8 text.") from exc
    except RosterInvalid as invalid:
        lines = "\n".join(f"  line {line}: {problem}" for line, problem in invalid.problems)
        raise click.ClickException(f"The roster was not imported; nothing changed.\n{lines}") from invalid
    with unit_of_work():
        report = import_roster(rows=rows, actor=admin, today=utc_today())
    click.echo(f"matched {len(report.matched)}, unmatched {len(report.unmatched)}, conflicts {len(report.conflicts)}")
    for conflict in report.conflicts:
        where = f" (application #{conflict.application_id})" if conflict.application_id else ""
        click.echo(f"  conflict, line {conflict.line}{where}: {conflict.why}")
    if report.unmatched:
        click.echo("  unmatched lines: " + ", ".join(str(n) for n in report.unmatched))
