"""Independent reviews: once a reviewer has read another reviewer's review of the cycle, their own is
locked; only an administrator reopens it, for one change, and every version stays in the file."""

from __future__ import annotations

import sqlalchemy as sa

from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application
from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.extensions import db
from refportal.reviews.models import Decision, Review, ReviewVersion
from tests.builders import logged_in
from tests.web import csrf_token_from

LOCKED_WORDS = "Your review is locked"


def file_url(people) -> str:
    return f"/review/applications/{people['application_id']}"


def record(browser, people, outcome, notes="", message=""):
    url = file_url(people)
    return browser.submit(f"{url}/review", {"outcome": outcome, "notes": notes, "message": message}, form_url=url)


def review_of(app, email) -> Review | None:
    with app.app_context():
        from refportal.accounts.models import User

        found = db.session.scalars(
            sa.select(Review).join(User, Review.reviewer_id == User.id).where(User.email == email)
        )
        review = found.first()
        if review is not None:
            db.session.expunge(review)
        return review


def status_of(app, people) -> ApplicationStatus:
    with app.app_context():
        return db.session.get(Application, people["application_id"]).status


def test_a_placeholder_cannot_be_changed_to_agree_after_reading_the_other_review(app, people):
    rita, rafe = logged_in(app, "rev@example.org"), logged_in(app, "rev2@example.org")
    assert record(rita, people, "deny", notes="placeholder").status_code == 302
    assert review_of(app, "rev@example.org").locked_at is None  # nothing of the others to read yet
    assert record(rafe, people, "endorse", notes="Strong file").status_code == 302
    assert review_of(app, "rev2@example.org").locked_at is None
    rafe.get(file_url(people))  # back on the file, Rafe reads Rita's review: his own is locked now
    assert review_of(app, "rev2@example.org").locked_at is not None

    page = rita.get(file_url(people)).get_data(as_text=True)
    assert "Strong file" in page and LOCKED_WORDS in page and "Record my review" not in page
    assert review_of(app, "rev@example.org").locked_at is not None

    changed = rita.client.post(
        f"{file_url(people)}/review",
        data={"csrf_token": csrf_token_from(page), "outcome": "endorse", "notes": "agree", "message": ""},
    )
    assert changed.status_code == 400 and LOCKED_WORDS in changed.get_data(as_text=True)
    rita_review = review_of(app, "rev@example.org")
    assert (rita_review.outcome, rita_review.notes) == (Decision.DENY, "placeholder")
    assert status_of(app, people) is ApplicationStatus.SUBMITTED  # no "agreement" decided the file


def test_a_form_from_an_older_tab_is_refused_once_the_others_were_read(app, people):
    rita, rafe = logged_in(app, "rev@example.org"), logged_in(app, "rev2@example.org")
    record(rita, people, "deny", notes="placeholder")
    old_tab = rita.get(file_url(people)).get_data(as_text=True)  # nothing of Rafe's yet: the form is there
    assert "Record my review" in old_tab
    record(rafe, people, "endorse")
    rita.get(file_url(people))  # a second tab shows Rafe's review
    changed = rita.client.post(
        f"{file_url(people)}/review",
        data={"csrf_token": csrf_token_from(old_tab), "outcome": "endorse", "notes": "agree", "message": ""},
    )
    assert changed.status_code == 400 and LOCKED_WORDS in changed.get_data(as_text=True)
    assert review_of(app, "rev@example.org").outcome is Decision.DENY


def test_before_reading_another_review_a_reviewer_changes_theirs_and_the_earlier_version_is_kept(app, people):
    rita = logged_in(app, "rev@example.org")
    record(rita, people, "deny", notes="first thoughts")
    assert record(rita, people, "defer", notes="second thoughts", message="Add the RSC log").status_code == 302
    rita_review = review_of(app, "rev@example.org")
    assert (rita_review.outcome, rita_review.locked_at) == (Decision.DEFER, None)
    with app.app_context():
        (version,) = db.session.scalars(sa.select(ReviewVersion)).all()
        assert (version.outcome, version.notes) == (Decision.DENY, "first thoughts")
    page = rita.get(file_url(people)).get_data(as_text=True)
    assert "Earlier versions (1)" in page and "first thoughts" in page


def test_an_administrator_reopens_a_locked_review_for_one_change_and_both_versions_stay(app, people):
    app.config["REVIEW_AUTO_DECIDE"] = True
    rita, rafe = logged_in(app, "rev@example.org"), logged_in(app, "rev2@example.org")
    record(rita, people, "deny", notes="placeholder")
    record(rafe, people, "endorse", notes="Strong file")
    rita.get(file_url(people))
    locked = review_of(app, "rev@example.org")

    admin = logged_in(app, "admin@example.org")
    admin_page = admin.get(file_url(people)).get_data(as_text=True)
    assert "Reopen Rita Reviewer's review" in admin_page
    reopened = admin.submit(f"{file_url(people)}/reviews/{locked.id}/reopen", {}, form_url=file_url(people))
    assert reopened.status_code == 302
    assert review_of(app, "rev@example.org").reopened_at is not None

    page = rita.get(file_url(people)).get_data(as_text=True)  # reading again does not lock a reopened review
    assert "Record my review" in page
    assert record(rita, people, "endorse", notes="On reflection, yes").status_code == 302
    assert status_of(app, people) is ApplicationStatus.ENDORSED  # the reopened change counts
    rita_review = review_of(app, "rev@example.org")
    assert rita_review.locked_at is not None and rita_review.reopened_at is None  # one change, locked again
    history = admin.get(file_url(people)).get_data(as_text=True)
    assert "Earlier versions (1)" in history and "placeholder" in history and "On reflection, yes" in history
    with app.app_context():
        actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"review.locked", "review.reopened"} <= actions


def test_an_unlocked_review_is_not_reopened_and_reviewers_cannot_reopen(app, people):
    rita = logged_in(app, "rev@example.org")
    record(rita, people, "deny")
    review = review_of(app, "rev@example.org")
    admin = logged_in(app, "admin@example.org")
    refused = admin.submit(f"{file_url(people)}/reviews/{review.id}/reopen", {}, form_url=file_url(people))
    assert "is not locked" in admin.get(refused.headers["Location"]).get_data(as_text=True)
    token = csrf_token_from(rita.get(file_url(people)).get_data(as_text=True))
    assert (
        rita.client.post(f"{file_url(people)}/reviews/{review.id}/reopen", data={"csrf_token": token}).status_code
        == 404
    )


def test_the_lock_and_the_reopening_are_hidden_like_the_review_itself(app, people):
    rita, rafe = logged_in(app, "rev@example.org"), logged_in(app, "rev2@example.org")
    record(rita, people, "deny")
    with app.app_context():
        from refportal.accounts.models import User
        from refportal.audit.services import record as audit_record

        application = db.session.get(Application, people["application_id"])
        rita_user = db.session.scalars(sa.select(User).where(User.email == "rev@example.org")).one()
        audit_record(AuditAction.REVIEW_LOCKED, obj=application, actor=rita_user, round=application.review_cycle)
        db.session.commit()
    page = rafe.get(file_url(people)).get_data(as_text=True)  # Rafe has not reviewed: nothing of Rita's
    assert "review.locked" not in page and "Rita Reviewer</strong>" not in page
