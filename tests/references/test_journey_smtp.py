"""The whole reference round trip with the mail going through a real SMTP server on loopback."""

from __future__ import annotations

import re

from refportal.mail.sender import deliver_due
from refportal.references.models import ReferenceStatus
from tests.builders import ready_applicant
from tests.references.helpers import full_answers, nominate_three, post_rating, references, send_requests, submit_rating
from tests.web import csrf_token_from


def delivered_link(smtp_server, to: str) -> str:
    """The referee link in the newest message the SMTP server accepted for `to`."""
    message = [d for d in smtp_server.delivered if d.rcpt_tos == [to]][-1].message
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"https://portal\.example\.test(/r/[^\s]+)", text).group(1)


def test_nominate_mail_link_draft_resume_submit_decline(smtp_app, smtp_server):
    applicant, application = ready_applicant(smtp_app)
    nominate_three(applicant, application.id)
    send_requests(applicant, application.id)
    with smtp_app.app_context():
        assert deliver_due().sent == 3

    # Referee one: half the form, a draft, a new browser, the rest, the summary, submit.
    link = delivered_link(smtp_server, "sam@example.net")
    first_visit = smtp_app.test_client()
    assert (
        post_rating(first_visit, link, {"item_theory_development": "5", "strengths": "Draft words"}, "save").status_code
        == 302
    )
    second_visit = smtp_app.test_client()
    page = second_visit.get(f"{link}/step/6").get_data(as_text=True)
    assert "Draft words" in page
    assert submit_rating(second_visit, link, full_answers(strengths="Draft words, finished")).status_code == 200

    # Referee two declines.
    link = delivered_link(smtp_server, "rae@example.net")
    referee = smtp_app.test_client()
    decline_page = referee.get(f"{link}/decline").get_data(as_text=True)
    referee.post(f"{link}/decline", data={"csrf_token": csrf_token_from(decline_page), "reason": "Too busy"})

    # The applicant hears of both by e-mail, through the same SMTP server; Sam gets a receipt.
    with smtp_app.app_context():
        assert deliver_due().sent == 3
    assert [d.message["Subject"] for d in smtp_server.delivered if d.rcpt_tos == ["sam@example.net"]][
        -1
    ] == "Thank you: your reference for Avery Applicant is in"
    subjects = [d.message["Subject"] for d in smtp_server.delivered if d.rcpt_tos == ["applicant@example.org"]]
    assert subjects == ["Sam Supervisor has submitted a reference", "Rae Provider has declined to give a reference"]
    statuses = {r.email: r.status for r in references(smtp_app)}
    assert statuses["sam@example.net"] is ReferenceStatus.SUBMITTED
    assert statuses["rae@example.net"] is ReferenceStatus.DECLINED
    assert statuses["cole@example.net"] is ReferenceStatus.INVITED
