"""The CSV exports: the filtered queue (written row by row as it is read: web.csv_download) and one file's
ratings (a few dozen rows: written whole), safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date

from refportal.applications.models import Application
from refportal.references.rating_form import DOMAINS, ITEM_KEYS
from refportal.reviews.queue_query import QueueFilters, QueueRules, queue_rows
from refportal.web import CsvLines, spreadsheet_cell


def _csv(header: list[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([spreadsheet_cell(cell) for cell in row])
    return buffer.getvalue()


def ratings_csv(application: Application) -> str:
    """One row per referee and item, with the referee's recommendation and whether the rating counts."""
    domain_of = {item.key: domain.title for domain in DOMAINS for item in domain.items}
    rows = []
    for reference in application.references:
        rating = reference.rating
        if rating is None:
            continue
        for key in ITEM_KEYS:
            rows.append(
                [
                    application.id,
                    reference.name,
                    reference.email,
                    reference.role.value,
                    rating.counts,
                    rating.recommendation.value,
                    domain_of[key],
                    key,
                    rating.answers.get(key),
                ]
            )
    return _csv(
        ["application_id", "referee", "referee_email", "role", "counts", "recommendation", "domain", "item", "answer"],
        rows,
    )


QUEUE_COLUMNS = [
    "application_id",
    "applicant",
    "email",
    "credential",
    "category",
    "status",
    "submitted_at",
    "membership",
    "references_counted",
    "reviews",
]


def queue_csv(filters: QueueFilters, today: date, rules: QueueRules) -> Iterator[str]:
    """The whole filtered queue (no paging), line by line as its rows are read."""
    lines = CsvLines()
    yield lines.line(QUEUE_COLUMNS)
    for r in queue_rows(filters, today, rules):
        a = r.application
        cells = [
            a.id,
            a.applicant.name,
            a.applicant.email,
            a.credential.short,
            a.category,
            a.status.value,
            a.submitted_at.isoformat() if a.submitted_at else "",
            r.membership.status_on(today).value if r.membership else "none",
            r.counted,
            r.reviews,
        ]
        yield lines.line([spreadsheet_cell(cell) for cell in cells])
