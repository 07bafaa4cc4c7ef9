"""Markup typed into every free-text field is shown as text on every page that shows it."""

from __future__ import annotations

import re
from datetime import timedelta

from refportal.accounts.models import Role
from refportal.applications.models import Application
from refportal.db import utc_today
from refportal.extensions import db
from tests.builders import settle_fees
from tests.factories import make_user
from tests.portfolio.helpers import enter_evidence
from tests.references.helpers import full_answers, nomination, referee_path, send_requests, submit_rating
from tests.web import Browser, crawl, csrf_token_from

MARK = '<script>alert("x")</script><img src=x onerror=alert(1)>'
RAW = ("<script>alert", "<img src=x")


def assert_escaped(body: str, where: str) -> None:
    for raw in RAW:
        assert raw not in body, f"unescaped markup on {where}"


def test_markup_everywhere_is_escaped_everywhere(app, outbox):
    with app.app_context():
        make_user(email="rev@example.org", role=Role.REVIEWER)
        make_user(email="admin@example.org", role=Role.ADMIN)
    applicant = Browser(app.test_client())
    applicant.submit(
        "/register",
        {
            "name": f"Ann {MARK}",
            "email": "ann@example.org",
            "password": "ann pass phrase",
            "confirm": "ann pass phrase",
        },
    )
    from tests.web import link_in

    applicant.submit(link_in(outbox(to="ann@example.org")[-1].body_text, "/verify-email/"), {})
    applicant.login("ann@example.org", "ann pass phrase")
    location = applicant.submit(
        "/applications/new", {"credential": "imh-e", "category": "2", "mentor_track": ""}
    ).headers["Location"]
    enter_evidence(applicant, location, text=MARK)
    applicant.submit(
        f"{location}/membership",
        {
            "kind": "current_member",
            "association": "other",
            "association_name": f"Assoc {MARK}",
            "member_number": f"N{MARK}"[:40],
            "expires_on": (utc_today() + timedelta(days=90)).isoformat(),
        },
    )
    for n, role in enumerate(("supervisor", "rsc_provider", "colleague")):
        applicant.submit(
            f"{location}/references/",
            nomination(
                name=f"Ref{n} {MARK}",
                email=f"ref{n}@example.net",
                role=role,
                organisation=f"Org {MARK}",
                setting=f"Setting {MARK}",
                waived="no",
            ),
        )
    send_requests(applicant, int(location.rstrip("/").rsplit("/", 1)[1]))
    for n in range(2):
        submit_rating(
            app.test_client(),
            referee_path(outbox, f"ref{n}@example.net"),
            full_answers(
                strengths=f"S {MARK}",
                growth=f"G {MARK}",
                for_reviewers=f"R {MARK}",
                relationship_role=f"Role {MARK}",
                relationship_setting=f"Set {MARK}",
                attestation_name=f"Sig {MARK}",
            ),
        )
    referee = app.test_client()
    link = referee_path(outbox, "ref2@example.net")
    page = referee.get(f"{link}/decline").get_data(as_text=True)
    referee.post(f"{link}/decline", data={"csrf_token": csrf_token_from(page), "reason": f"Reason {MARK}"})
    declined_page = applicant.get(f"{location}/references/").get_data(as_text=True)
    declined_id = re.findall(r"/references/(\d+)/replace", declined_page)[0]
    applicant.submit(
        f"{location}/references/{declined_id}/replace",
        nomination(name=f"Ref3 {MARK}", email="ref3@example.net", role="colleague", waived="no"),
    )
    submit_rating(app.test_client(), referee_path(outbox, "ref3@example.net"), full_answers(strengths=f"S3 {MARK}"))
    with app.app_context():  # the processing fee, the last thing submission waits for
        settle_fees(db.session.get(Application, int(location.rstrip("/").rsplit("/", 1)[1])))
    assert applicant.submit(f"{location}/submit", {"attest": "y"}).status_code == 302

    # The applicant's pages, the reviewer's pages, the referee's pages, the e-mails: all escaped.
    pages = crawl(applicant)
    pages[f"{location}/references/{declined_id}"] = applicant.get(f"{location}/references/{declined_id}").get_data(
        as_text=True
    )
    reviewer = Browser(app.test_client())
    reviewer.login("rev@example.org")
    application_id = location.rsplit("/", 1)[-1]
    with app.app_context():  # the file's reviewer
        from refportal.accounts.models import User
        from refportal.reviews.models import ReviewAssignment

        rev = db.session.query(User).filter_by(email="rev@example.org").one()
        db.session.add(ReviewAssignment(application_id=int(application_id), reviewer_id=rev.id))
        db.session.commit()
    file_url = f"/review/applications/{application_id}"
    reviewer.submit(
        f"{file_url}/review",
        {"outcome": "more_information", "notes": f"N {MARK}", "message": f"M {MARK}"},
        form_url=file_url,
    )
    pages.update({url: reviewer.get(url).get_data(as_text=True) for url in ("/review/", "/review/?q=ann", file_url)})
    pages.update(crawl(applicant))  # the reviewers' message on the applicant's page
    pages[link] = app.test_client().get(referee_path(outbox, "ref0@example.net")).get_data(as_text=True)
    for url, body in pages.items():
        assert_escaped(body, url)
    shown = "\n".join(pages.values())
    for text in (
        "Ann &lt;script&gt;",
        "Org &lt;script&gt;",
        "S &lt;script&gt;",
        "Sig &lt;script&gt;",
        "Reason &lt;script&gt;",
        "N &lt;script&gt;",
        "Assoc &lt;script&gt;",
        "Course &lt;script&gt;",
        "Morgan &lt;script&gt;",
    ):
        assert text in shown, f"{text} is not shown anywhere: the check would not notice a missing field"
    for email in outbox():
        assert_escaped(email.body_html, f"e-mail {email.subject}")
    mail_viewer = app.test_client()
    for email in outbox():
        assert_escaped(mail_viewer.get(f"/dev/mail/{email.id}").get_data(as_text=True), f"viewer {email.id}")
