"""The CSV exports: the filtered queue and one file's ratings, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date

from refportal.applications.models import Application
from refportal.references.rating_form import DOMAINS, ITEM_KEYS
from refportal.reviews.queue_query import QueueFilters, queue_rows
from refportal.web import spreadsheet_cell


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


def queue_csv(filters: QueueFilters, today: date) -> str:
    """The whole filtered queue (no paging)."""
    rows = queue_rows(filters, today)
    return _csv(
        [
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
        ],
        (
            [
                r.application.id,
                r.application.applicant.name,
                r.application.applicant.email,
                r.application.credential.short,
                r.application.category,
                r.application.status.value,
                r.application.submitted_at.isoformat() if r.application.submitted_at else "",
                r.membership.status_on(today).value if r.membership else "none",
                r.counted,
                r.reviews,
            ]
            for r in rows
        ),
    )
