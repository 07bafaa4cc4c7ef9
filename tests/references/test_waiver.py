"""No page the applicant can reach, and no e-mail they get, contains content of a waived reference."""

from __future__ import annotations

import re

from tests.references.helpers import full_answers, nominate_three, referee_path, send_requests, submit_rating
from tests.web import crawl, csrf_token_from

WAIVED_MARKERS = {
    "strengths": "WAIVED-STRENGTHS-7f3a",
    "growth": "WAIVED-GROWTH-91bc",
    "for_reviewers": "WAIVED-REVIEWERS-22de",
    "relationship_role": "WAIVED-ROLE-5e0f",
    "relationship_setting": "WAIVED-SETTING-c4a1",
    "attestation_name": "WAIVED-SIGNATURE-0b9e",
}
DECLINE_MARKER = "WAIVED-DECLINE-REASON-66aa"
OPEN_MARKER = "OPEN-STRENGTHS-ab12"


def test_no_applicant_page_or_email_shows_waived_content(app, browser, outbox, applicant_app):
    nominate_three(browser, applicant_app.id, waived=("yes", "no", "yes"))
    send_requests(browser, applicant_app.id)

    submit_rating(
        app.test_client(),
        referee_path(outbox, "sam@example.net"),
        full_answers(recommendation="do_not_recommend", **WAIVED_MARKERS),
    )
    submit_rating(
        app.test_client(),
        referee_path(outbox, "rae@example.net"),
        full_answers(recommendation="recommend_with_reservations", strengths=OPEN_MARKER),
    )
    cole = app.test_client()
    link = referee_path(outbox, "cole@example.net")
    page = cole.get(f"{link}/decline").get_data(as_text=True)
    cole.post(f"{link}/decline", data={"csrf_token": csrf_token_from(page), "reason": DECLINE_MARKER})

    pages = crawl(browser)
    reference_pages = [url for url in pages if re.search(r"/references/\d+$", url)]
    assert len(reference_pages) == 3, sorted(pages)
    assert len(pages) >= 8, sorted(pages)
    forbidden = [*WAIVED_MARKERS.values(), DECLINE_MARKER, "I do not recommend"]
    for url, body in pages.items():
        for marker in forbidden:
            assert marker not in body, f"{marker} shown on {url}"
    # The one reference whose content was not waived is readable: the crawl would have seen the others.
    assert any(OPEN_MARKER in body for body in pages.values())
    assert any("I recommend the applicant with reservations" in body for body in pages.values())

    for email in outbox(to="applicant@example.org"):
        for marker in [*forbidden, OPEN_MARKER]:
            assert marker not in email.body_text + email.body_html + email.subject
