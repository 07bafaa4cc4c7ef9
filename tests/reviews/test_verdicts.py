"""Item-by-item verification: a reviewer's verdict per requirement (verified / not verified / needs more,
with the reason), who may record one and when, the stale tab, the "more information" request naming the
items, and the completeness rule and queue filter reading the verdicts."""

from __future__ import annotations

import re

import sqlalchemy as sa

from refportal.accounts.models import User
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application
from refportal.applications.verdicts import Requirement, RequirementVerdict, Verdict, current_verdicts
from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.db import utc_today
from refportal.extensions import db
from refportal.reviews.assignments import recuse
from refportal.reviews.verification import STALE
from refportal.submission.completeness import Progress, completeness_of
from tests.builders import logged_in


def file_url(people, suffix=""):
    return f"/review/applications/{people['application_id']}{suffix}"


def shown_version(page: str, requirement: str) -> str:
    """The version the page's form for the requirement carries (the current verdict's)."""
    match = re.search(rf'name="verdict-{requirement}-version"[^>]*value="(\d+)"', page) or re.search(
        rf'value="(\d+)"[^>]*name="verdict-{requirement}-version"', page
    )
    assert match, f"no version field for {requirement}"
    return match.group(1)


def send_verdict(browser, people, requirement, verdict, reason="", *, version=None, form_url=None):
    page = browser.get(form_url or file_url(people)).get_data(as_text=True)
    if version is None:
        version = shown_version(page, requirement)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'name="[\w-]*csrf_token"[^>]*value="([^"]+)"', page
    )
    assert token, "no CSRF token"
    prefix = f"verdict-{requirement}-"
    return browser.client.post(
        file_url(people, f"/verdicts/{requirement}"),
        data={
            "csrf_token": token.group(1),
            f"{prefix}csrf_token": token.group(1),
            f"{prefix}verdict": verdict,
            f"{prefix}reason": reason,
            f"{prefix}version": version,
        },
    )


def verdicts_of(app, people) -> list[tuple[str, int, str, str]]:
    with app.app_context():
        return [
            (row.requirement.value, row.version, row.verdict.value, row.reason)
            for row in db.session.scalars(
                sa.select(RequirementVerdict)
                .where(RequirementVerdict.application_id == people["application_id"])
                .order_by(RequirementVerdict.id)
            )
        ]


def decide(app, people, outcome, message="See the items below."):
    return logged_in(app, "admin@example.org").submit(
        file_url(people, "/decision"),
        {"decision-outcome": outcome, "decision-message": message},
        form_url=file_url(people),
    )


def test_each_verdict_kind_is_recorded_shown_and_audited_and_a_later_one_replaces_it(app, people):
    rita = logged_in(app, "rev@example.org")
    assert send_verdict(rita, people, "education", "verified").status_code == 302
    assert (
        send_verdict(rita, people, "training", "not_verified", "The certificates are not in the file.").status_code
        == 302
    )
    assert send_verdict(rita, people, "rsc", "needs_more", "Name the RSC provider's credential.").status_code == 302
    assert send_verdict(rita, people, "education", "needs_more", "Send the diploma.").status_code == 302
    assert verdicts_of(app, people) == [
        ("education", 1, "verified", ""),
        ("training", 1, "not_verified", "The certificates are not in the file."),
        ("rsc", 1, "needs_more", "Name the RSC provider's credential."),
        ("education", 2, "needs_more", "Send the diploma."),
    ]
    with app.app_context():
        current = current_verdicts(people["application_id"])
        assert {r: v.verdict for r, v in current.items()} == {
            Requirement.EDUCATION: Verdict.NEEDS_MORE,
            Requirement.TRAINING: Verdict.NOT_VERIFIED,
            Requirement.RSC: Verdict.NEEDS_MORE,
        }
        events = db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == AuditAction.REVIEW_VERDICT_RECORDED)
            .order_by(AuditEvent.id)
        ).all()
        assert [(e.details["requirement"], e.details["verdict"], e.details["version"]) for e in events] == [
            ("education", "verified", 1),
            ("training", "not_verified", 1),
            ("rsc", "needs_more", 1),
            ("education", "needs_more", 2),
        ]
    page = rita.get(file_url(people)).get_data(as_text=True)
    section = page[page.index('id="verification"') :]
    assert "Send the diploma." in section and "Name the RSC provider&#39;s credential." in section
    assert shown_version(page, "education") == "2" and shown_version(page, "work") == "0"


def test_a_reason_is_required_unless_verified_and_control_characters_are_refused(app, people):
    rita = logged_in(app, "rev@example.org")
    for verdict in ("not_verified", "needs_more"):
        response = send_verdict(rita, people, "work", verdict, "   ")
        assert response.status_code == 400 and "Say why" in response.get_data(as_text=True)
    response = send_verdict(rita, people, "work", "needs_more", "Dates\x07 missing")
    assert response.status_code == 400 and "control characters" in response.get_data(as_text=True)
    response = send_verdict(rita, people, "work", "needs_more", "x" * 2001)
    assert response.status_code == 400
    response = send_verdict(rita, people, "work", "maybe", "x")
    assert response.status_code == 400
    assert verdicts_of(app, people) == []
    assert send_verdict(rita, people, "work", "needs_more", "Dates\nmissing").status_code == 302  # lines are fine
    assert verdicts_of(app, people) == [("work", 1, "needs_more", "Dates\nmissing")]


def test_a_conflicted_reviewer_an_applicant_and_an_unknown_requirement_are_refused(app, people):
    with app.app_context():
        rafe = db.session.scalar(sa.select(User).where(User.email == "rev2@example.org"))
        recuse(application=db.session.get(Application, people["application_id"]), reviewer=rafe, reason="My cousin")
        db.session.commit()
    conflicted = logged_in(app, "rev2@example.org")
    app.config["REVIEWERS_READ_UNASSIGNED"] = True  # the conflicted reviewer opens the file: no verdict forms
    page = conflicted.get(file_url(people)).get_data(as_text=True)
    assert 'id="verification"' in page and "/verdicts/" not in page
    assert "/verdicts/" in logged_in(app, "rev@example.org").get(file_url(people)).get_data(as_text=True)
    assert (
        send_verdict(conflicted, people, "education", "verified", version="0", form_url="/review/").status_code == 404
    )
    applicant = logged_in(app, "a@example.org")
    form_url = f"/applications/{people['application_id']}"
    assert send_verdict(applicant, people, "education", "verified", version="0", form_url=form_url).status_code == 404
    rita = logged_in(app, "rev@example.org")
    response = send_verdict(rita, people, "education", "verified")
    assert response.status_code == 302
    page = rita.get(file_url(people)).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = rita.client.post(file_url(people, "/verdicts/salary"), data={"csrf_token": token})
    assert response.status_code == 404
    assert verdicts_of(app, people) == [("education", 1, "verified", "")]


def test_a_closed_application_takes_no_verdict(app, people):
    rita = logged_in(app, "rev@example.org")
    page_version = shown_version(rita.get(file_url(people)).get_data(as_text=True), "education")
    assert decide(app, people, "deny", "").status_code == 302
    response = send_verdict(rita, people, "education", "verified", version=page_version)
    assert response.status_code == 400
    assert "Only a submitted application awaiting a decision" in response.get_data(as_text=True)
    assert verdicts_of(app, people) == []


def test_a_verdict_from_an_older_page_is_refused(app, people):
    rita = logged_in(app, "rev@example.org")
    old_tab = rita.get(file_url(people)).get_data(as_text=True)
    assert send_verdict(rita, people, "membership", "verified").status_code == 302
    response = send_verdict(
        rita, people, "membership", "needs_more", "Renew first.", version=shown_version(old_tab, "membership")
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and STALE.replace("'", "&#39;")[:60] in body
    assert shown_version(body, "membership") == "1"  # the refused form now carries the current verdict
    assert verdicts_of(app, people) == [("membership", 1, "verified", "")]


def test_more_information_names_the_items_in_the_email_and_on_the_applicants_page(app, people, outbox):
    rita = logged_in(app, "rev@example.org")
    send_verdict(rita, people, "education", "verified")
    send_verdict(rita, people, "training", "needs_more", "Upload the training certificates.")
    send_verdict(rita, people, "ratings", "not_verified", "One referee has known you under two years.")
    assert decide(app, people, "more_information", "Please see the items.").status_code == 302
    email = outbox(to="a@example.org")[-1]
    assert "In-service training (needs more): Upload the training certificates." in email.body_text
    assert "Ratings (not verified): One referee has known you under two years." in email.body_text
    assert "Education" not in email.body_text
    assert "Upload the training certificates." in email.body_html
    applicant = logged_in(app, "a@example.org")
    page = applicant.get(f"/applications/{people['application_id']}").get_data(as_text=True)
    items = page[page.index('id="requested-items"') :]
    items = items[: items.index("</ul>")]
    assert "In-service training" in items and "Upload the training certificates." in items
    assert "Ratings" in items and "Education" not in items
    assert "Strengths by Hana Ito" not in page  # nothing of the ratings themselves
    # Reopened for the applicant, the file takes no verdict until it is submitted again.
    response = send_verdict(rita, people, "training", "verified", version="1")
    assert response.status_code == 400 and "Only a submitted application awaiting a decision" in response.get_data(
        as_text=True
    )
    assert len(verdicts_of(app, people)) == 3
    # The new cycle's file starts without verdicts: the earlier ones show as earlier.
    applicant.submit(f"/applications/{people['application_id']}/submit", {"attest": "y"})
    with app.app_context():
        assert db.session.get(Application, people["application_id"]).status is ApplicationStatus.SUBMITTED
    body = rita.get(file_url(people)).get_data(as_text=True)
    assert "Earlier (cycle 1): needs more" in body
    page = applicant.get(f"/applications/{people['application_id']}").get_data(as_text=True)
    assert 'id="requested-items"' not in page


def test_a_decision_other_than_more_information_lists_no_items(app, people, outbox):
    rita = logged_in(app, "rev@example.org")
    send_verdict(rita, people, "training", "needs_more", "Upload the training certificates.")
    decide(app, people, "defer", "Apply again next year.")
    assert "Upload the training certificates." not in outbox(to="a@example.org")[-1].body_text


def test_completeness_reads_the_verdicts_of_the_cycle(app, people):
    rita = logged_in(app, "rev@example.org")
    with app.app_context():
        application = db.session.get(Application, people["application_id"])
        requirements = app.config["ELIGIBILITY_REQUIREMENTS"]
        before = completeness_of(application, utc_today(), requirements, current_verdicts(application.id))
        eligibility_before = before.items[0]
    assert eligibility_before.label == "Eligibility"
    send_verdict(rita, people, "education", "verified")
    send_verdict(rita, people, "ratings", "needs_more", "A fourth referee, please.")
    with app.app_context():
        application = db.session.get(Application, people["application_id"])
        after = completeness_of(
            application, utc_today(), app.config["ELIGIBILITY_REQUIREMENTS"], current_verdicts(application.id)
        )
        eligibility, _, references = after.items
        assert eligibility.progress is eligibility_before.progress
        assert "education verified by Rita Reviewer" in eligibility.detail
        assert (
            references.progress is Progress.TODO
            and "ratings needs more: A fourth referee, please." in references.detail
        )
        assert not after.complete
    page = rita.get(file_url(people)).get_data(as_text=True)
    checklist = page[page.index('id="completeness-title"') : page.index('id="verification"')]
    assert "education verified by Rita Reviewer" in checklist and "A fourth referee, please." in checklist


def queue_lists(browser, query: str, people) -> bool:
    body = browser.get(f"/review/?{query}").get_data(as_text=True)
    return f'/review/applications/{people["application_id"]}"' in body


def test_the_queue_filters_on_the_verdicts(app, people):
    rita = logged_in(app, "rev@example.org")
    assert queue_lists(rita, "", people)
    assert not queue_lists(rita, "verdicts=needs_more", people)
    assert not queue_lists(rita, "verdicts=verified", people)
    for requirement in Requirement:
        send_verdict(rita, people, requirement.value, "verified")
    assert queue_lists(rita, "verdicts=verified", people)
    assert not queue_lists(rita, "verdicts=needs_more", people)
    send_verdict(rita, people, "work", "needs_more", "The dates of the second job.")
    assert queue_lists(rita, "verdicts=needs_more", people)
    assert not queue_lists(rita, "verdicts=verified", people)
    assert not queue_lists(rita, "verdicts=needs_more&completeness=complete", people)  # one rule with the page
    send_verdict(rita, people, "work", "verified")  # the later verdict replaces it
    assert not queue_lists(rita, "verdicts=needs_more", people)
    assert queue_lists(rita, "verdicts=verified", people)
    response = rita.get("/review/?verdicts=%3Cscript%3E")
    assert response.status_code == 200 and "Not a valid choice" in response.get_data(as_text=True)
