"""The endorsement year's notices in the endorsee's language: the account stores it (chosen on the account
page or at registration, English by default), and every notice of the year (renewal open, reminder,
grace, grace reminder, lapse) is written in it, dates included. A stored value the portal does not write
in is English, never a failure; a value not offered on the form is refused and changes nothing."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from refportal.accounts.models import User
from refportal.applications.lifecycle import ApplicationStatus
from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.endorsements.models import Endorsement
from refportal.endorsements.renewal_notices import run_annual_cycle
from refportal.extensions import db
from refportal.mail.models import OutboxEmail
from refportal.reviews.decisions import apply_decision
from refportal.reviews.models import Decision
from tests.builders import logged_in
from tests.endorsements.helpers import endorse
from tests.factories import DEFAULT_PASSWORD, make_application, make_user

DAY = timedelta(days=1)
MONTHS_ES = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
]


def spanish_date(day: date) -> str:
    """The long Spanish date, as a reader writes it: 2 de diciembre de 2026."""
    return f"{day.day} de {MONTHS_ES[day.month - 1]} de {day.year}"


def english_date(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def set_stored_language(app, email: str, language: str) -> None:
    """Store a language directly (as a row kept from before the form's check would have it)."""
    with app.app_context():
        db.session.execute(sa.update(User).where(User.email == email).values(language=language))
        db.session.commit()


def language_of(app, email: str) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(User.language).where(User.email == email))


def period_end(app, number: str) -> date:
    with app.app_context():
        return db.session.scalar(sa.select(Endorsement.period_ends_on).where(Endorsement.number == number))


def notices_to(app, address: str) -> list[OutboxEmail]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(OutboxEmail)
            .where(OutboxEmail.to_address == address, OutboxEmail.template.startswith("endorsement_"))
            .order_by(OutboxEmail.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def whole_year(app, address: str, ends: date) -> dict[str, OutboxEmail]:
    """The job's runs on the days of one notice each (the test settings' windows); template → notice."""
    for today in (ends - 60 * DAY, ends - 30 * DAY, ends + DAY, ends + 7 * DAY, ends + 31 * DAY):
        with app.app_context():
            outcome = run_annual_cycle(today)
        assert (outcome.notices, outcome.failed) == (1, 0), today
    notices = notices_to(app, address)
    assert [n.template for n in notices] == [
        "endorsement_renewal_open",
        "endorsement_renewal_reminder",
        "endorsement_grace",
        "endorsement_grace_reminder",
        "endorsement_lapsed",
    ]
    return {n.template: n for n in notices}


def test_every_notice_of_the_year_in_spanish(app):
    number = endorse(app, name="Lucía Ramos", email="lucia@example.org")
    set_stored_language(app, "lucia@example.org", "es")
    ends = period_end(app, number)
    grace_ends, lapses_on = ends + 30 * DAY, ends + 31 * DAY
    notices = whole_year(app, "lucia@example.org", ends)

    opened = notices["endorsement_renewal_open"]
    assert opened.subject == f"Su acreditación IMH-E: la renovación está abierta hasta el {spanish_date(ends)}"
    assert "La renovación de su acreditación IMH-E" in opened.body_text and number in opened.body_text
    assert f"Su período actual termina el {spanish_date(ends)}" in opened.body_text
    assert f"período de gracia hasta el {spanish_date(grace_ends)}" in opened.body_text

    reminder = notices["endorsement_renewal_reminder"]
    assert reminder.subject == f"Recordatorio: renueve su acreditación IMH-E antes del {spanish_date(ends)}"
    assert "Le recordamos que su acreditación IMH-E" in reminder.body_text
    assert f"termina el {spanish_date(ends)}, dentro de 30 días." in reminder.body_text

    grace = notices["endorsement_grace"]
    assert grace.subject == f"Su acreditación IMH-E está en período de gracia hasta el {spanish_date(grace_ends)}"
    assert f"terminó el {spanish_date(ends)} sin que se renovara" in grace.body_text
    assert "saldrá del registro público" in grace.body_text

    grace_reminder = notices["endorsement_grace_reminder"]
    assert (
        grace_reminder.subject == f"Recordatorio: su acreditación IMH-E caduca después del {spanish_date(grace_ends)}"
    )
    assert "dentro de 23 días" in grace_reminder.body_text

    lapsed = notices["endorsement_lapsed"]
    assert lapsed.subject == "Su acreditación IMH-E ha caducado"
    assert f"Caducó el {spanish_date(lapses_on)}" in lapsed.body_text
    assert "tres nuevas valoraciones de referencia" in lapsed.body_text and "/reinstate" in lapsed.body_text

    for notice in notices.values():
        assert notice.body_text.startswith("Estimado/a Lucía Ramos:"), notice.template
        assert "Preguntas:" in notice.body_text and "a través de" in notice.body_text
        assert 'lang="es"' in notice.body_html and "Estimado/a Lucía Ramos:" in notice.body_html
        assert "Su acreditación" in notice.body_html or "Sus acreditaciones" in notice.body_html
        assert re.search(r"\d{1,2} de \w+ de \d{4}", notice.body_text), notice.template  # a Spanish date
        words = re.sub(r"https?://\S+", "", notice.subject + notice.body_text)  # links are not words
        words = words.replace(app.config["ASSOCIATION_EMAIL"], "")
        for english in ("Dear", "endorsement", "Questions", "Reminder", "renew", "through"):
            assert english not in words, (notice.template, english)


def test_every_notice_of_the_year_in_english_by_default(app):
    number = endorse(app, name="Ed English", email="ed@example.org")
    assert language_of(app, "ed@example.org") == "en"
    ends = period_end(app, number)
    notices = whole_year(app, "ed@example.org", ends)
    assert notices["endorsement_renewal_open"].subject == (
        f"Your IMH-E endorsement: renewal is open until {english_date(ends)}"
    )
    assert (
        notices["endorsement_renewal_reminder"].subject
        == f"Reminder: renew your IMH-E endorsement by {english_date(ends)}"
    )
    assert "in 30 days" in notices["endorsement_renewal_reminder"].body_text
    assert notices["endorsement_lapsed"].subject == "Your IMH-E endorsement has lapsed"
    for notice in notices.values():
        assert notice.body_text.startswith("Dear Ed English,") and 'lang="en"' in notice.body_html
        assert "Estimado" not in notice.body_text and "acreditación" not in notice.subject + notice.body_text


@pytest.mark.parametrize("stored", ["fr", "", "es'<b>", "en_US"])
def test_a_stored_language_the_portal_does_not_write_in_is_english(app, stored):
    number = endorse(app, name="Uma Unknown", email="uma@example.org")
    set_stored_language(app, "uma@example.org", stored)
    ends = period_end(app, number)
    with app.app_context():
        outcome = run_annual_cycle(ends - 60 * DAY)
    assert (outcome.notices, outcome.failed) == (1, 0)
    [opened] = notices_to(app, "uma@example.org")
    assert opened.subject == f"Your IMH-E endorsement: renewal is open until {english_date(ends)}"
    assert opened.body_text.startswith("Dear Uma Unknown,") and 'lang="en"' in opened.body_html


def decide(app, language: str, outcome: Decision, message: str = "") -> OutboxEmail:
    """A submitted application of an applicant whose account is in `language`, decided; the e-mail."""
    with app.app_context():
        applicant = make_user(name="Lucía Ramos", email="lucia@example.org")
        applicant.language = language
        application = make_application(applicant, status=ApplicationStatus.SUBMITTED)
        with app.test_request_context():
            apply_decision(application=application, outcome=outcome, message=message, actor=None)
            db.session.commit()
    [email] = [e for e in notices_to_any(app, "lucia@example.org") if e.template == "application_decision"]
    return email


def notices_to_any(app, address: str) -> list[OutboxEmail]:
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.to_address == address)).all()
        db.session.expunge_all()
        return list(rows)


def test_the_decision_is_in_the_applicants_language(app):
    email = decide(app, "es", Decision.ENDORSE)
    assert email.subject == "Su acreditación IMH-E ha sido concedida"
    assert email.body_text.startswith("Estimado/a Lucía Ramos:")
    assert "Enhorabuena: los revisores le han concedido la acreditación como Infant Family Specialist (IMH-E)." in (
        email.body_text
    )
    assert re.search(
        r"Acreditación concedida el \d{1,2} de \w+ de \d{4}; renuévela antes del \d{1,2} de \w+ de \d{4}\.",
        email.body_text,
    )
    assert 'lang="es"' in email.body_html and "Ver su solicitud" in email.body_html


@pytest.mark.parametrize(
    ("outcome", "subject", "sentence"),
    [
        (
            Decision.MORE_INFORMATION,
            "Se necesita más información para su solicitud de IMH-E",
            "Su solicitud vuelve a estar abierta",
        ),
        (Decision.DEFER, "Decisión sobre su solicitud de IMH-E", "Los revisores han aplazado su solicitud de IMH-E"),
        (Decision.DENY, "Decisión sobre su solicitud de IMH-E", "Los revisores han decidido no conceder por ahora"),
    ],
)
def test_every_other_decision_in_spanish_keeps_the_reviewers_words(app, outcome, subject, sentence):
    email = decide(app, "es", outcome, message="Please add the training certificates.")
    assert email.subject == subject and sentence in email.body_text
    assert "El mensaje de los revisores:" in email.body_text
    assert "Please add the training certificates." in email.body_text  # as the reviewers wrote it


def test_the_decision_in_english_and_for_an_unknown_stored_language(app):
    email = decide(app, "xx", Decision.ENDORSE)
    assert email.subject == "Your IMH-E endorsement is granted"
    assert email.body_text.startswith("Dear Lucía Ramos,") and "renew by" in email.body_text


def language_changes(app) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == AuditAction.ACCOUNT_LANGUAGE_CHANGED)
        )


def test_the_account_page_sets_the_language_of_the_notices(app):
    number = endorse(app, name="Lucía Ramos", email="lucia@example.org")
    browser = logged_in(app, "lucia@example.org")
    page = browser.get("/account").get_data(as_text=True)
    assert "Your account" in page and 'value="es"' in page and "Español" in page
    assert "The portal&#39;s pages stay in English" in page or "The portal's pages stay in English" in page

    response = browser.submit("/account", {"language": "es"}, follow_redirects=True)
    assert "Your endorsement e-mails will be in Español." in response.get_data(as_text=True)
    assert language_of(app, "lucia@example.org") == "es"
    assert language_changes(app) == 1
    assert re.search(
        r'<option selected value="es">|<option value="es" selected>', browser.get("/account").get_data(as_text=True)
    )

    # The same choice again changes nothing (and is not audited twice).
    response = browser.submit("/account", {"language": "es"}, follow_redirects=True)
    assert "Your endorsement e-mails stay in Español." in response.get_data(as_text=True)
    assert language_changes(app) == 1

    ends = period_end(app, number)
    with app.app_context():
        run_annual_cycle(ends - 60 * DAY)
    [opened] = notices_to(app, "lucia@example.org")
    assert opened.subject.startswith("Su acreditación IMH-E: la renovación está abierta")

    browser.submit("/account", {"language": "en"})
    assert language_of(app, "lucia@example.org") == "en"
    assert language_changes(app) == 2


@pytest.mark.parametrize("hostile", ["fr", "", "ES", "es\r\nX-Evil: 1", "<script>alert(1)</script>", "e" * 500])
def test_a_language_not_offered_is_refused_and_changes_nothing(app, hostile):
    endorse(app, name="Lucía Ramos", email="lucia@example.org")
    set_stored_language(app, "lucia@example.org", "es")
    browser = logged_in(app, "lucia@example.org")
    response = browser.submit("/account", {"language": hostile})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Choose one of the languages offered: English (en), Español (es)." in body
    assert "<script>alert(1)</script>" not in body
    assert language_of(app, "lucia@example.org") == "es" and language_changes(app) == 0


def test_the_account_page_needs_a_login_and_a_csrf_token(app, client):
    response = client.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    endorse(app, name="Lucía Ramos", email="lucia@example.org")
    browser = logged_in(app, "lucia@example.org")
    assert browser.client.post("/account", data={"language": "es"}).status_code == 400
    assert language_of(app, "lucia@example.org") == "en" and language_changes(app) == 0


REGISTRATION = {
    "name": "Maya Lin",
    "email": "maya@example.org",
    "password": DEFAULT_PASSWORD,
    "confirm": DEFAULT_PASSWORD,
}


def test_registration_may_choose_the_language(app, browser):
    response = browser.submit("/register", {**REGISTRATION, "language": "es"})
    assert "We have sent a verification link" in response.get_data(as_text=True)
    assert language_of(app, "maya@example.org") == "es"


def test_registration_without_a_language_is_english_and_a_hostile_one_is_refused(app, browser):
    response = browser.submit("/register", {**REGISTRATION, "language": "xx"})
    assert "Choose one of the languages offered" in response.get_data(as_text=True)
    assert language_of(app, "maya@example.org") is None  # no account
    browser.submit("/register", REGISTRATION)
    assert language_of(app, "maya@example.org") == "en"
