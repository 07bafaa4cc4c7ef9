"""`flask reviews recount`: the review rounds' stored progress counted again from the source tables."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from refportal.db import utc_today
from refportal.reviews.progress import computed_progress, recount, stored_progress
from refportal.transactions import unit_of_work

reviews_cli = AppGroup("reviews", help="The review rounds' stored progress.")


@reviews_cli.command("recount")
@click.option("--check", is_flag=True, help="Only compare the stored counts with a count of every application.")
def recount_command(check: bool) -> None:
    """Count every round's progress again from the applications, assignments and reviews (after rows were
    written around the portal, e.g. restored or fixed by hand). Safe while the portal runs."""
    if not check:
        done = recount()
        click.echo(f"file rows corrected {done.files}, tally rows corrected {done.tallies}")
    with unit_of_work():
        today, per_file = utc_today(), current_app.config["REVIEWERS_PER_FILE"]
        stored, computed = stored_progress(per_file, today), computed_progress(per_file, today)
    wrong = sorted(r for r in stored.keys() | computed.keys() if stored.get(r) != computed.get(r))
    for round_id in wrong:
        click.echo(f"round {round_id}: stored {stored.get(round_id)}, counted {computed.get(round_id)}")
    click.echo(f"{len(stored)} round(s), {len(wrong)} differing from a count of every application")
    if wrong:
        sys.exit(1)
