"""The referee's pages and e-mails in Spanish: chosen by the applicant, switchable by the referee."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from tests.references.helpers import (
    full_answers,
    nominate,
    nomination,
    post_rating,
    referee_path,
    references,
    send_requests,
)

CATALOG = Path(__file__).resolve().parents[2] / "refportal" / "translations" / "es" / "LC_MESSAGES" / "messages.po"


def spanish_referee(app, browser, outbox, applicant_app):
    nominate(browser, applicant_app.id, language="es")
    nominate(browser, applicant_app.id, name="Rae Provider", email="rae@example.net", role="rsc_provider")
    nominate(browser, applicant_app.id, name="Cole League", email="cole@example.net", role="colleague")
    send_requests(browser, applicant_app.id)
    return referee_path(outbox, "sam@example.net")


def test_the_applicant_chooses_spanish_and_the_request_is_in_spanish(app, browser, outbox, applicant_app):
    spanish_referee(app, browser, outbox, applicant_app)
    assert next(r for r in references(app) if r.email == "sam@example.net").language == "es"
    request = outbox(to="sam@example.net")[-1]
    assert request.subject == "Solicitud de referencia: Avery Applicant, IMH-E"
    assert "Estimado/a Sam Supervisor:" in request.body_text and "Responda antes del" in request.body_text
    assert re.search(r"Responda antes del \d{1,2} de \w+ de \d{4}", request.body_text)  # a Spanish date
    assert "Reflexión" in request.body_text and 'lang="es"' in request.body_html
    english = outbox(to="rae@example.net")[-1]
    assert english.subject.startswith("Reference request") and "Please answer by" in english.body_text


def test_the_rating_form_in_spanish_and_the_switch_to_english(app, browser, outbox, applicant_app):
    link = spanish_referee(app, browser, outbox, applicant_app)
    referee = app.test_client()
    page = referee.get(link).get_data(as_text=True)
    assert '<html lang="es">' in page and "Valoración de referencia para Avery Applicant" in page
    assert "Paso 1 de 7" in page and "Guardar borrador" in page
    step = referee.get(f"{link}/step/2").get_data(as_text=True)
    assert "Aplica en su trabajo diario el conocimiento sobre el desarrollo de bebés y niños pequeños." in step
    assert "No hay suficiente información para valorar" in step
    english = referee.get(f"{link}?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english and "Reference rating for Avery Applicant" in english
    again = referee.get(link).get_data(as_text=True)
    assert "Reference rating for" in again  # the choice is remembered
    assert "Valoración" in referee.get(f"{link}?lang=es").get_data(as_text=True)


def test_messages_and_numbers_follow_the_language(app, browser, outbox, applicant_app):
    link = spanish_referee(app, browser, outbox, applicant_app)
    referee = app.test_client()
    answers = full_answers(relationship_years="2.5")
    del answers["item_reflection_self"]
    body = post_rating(referee, link, answers, "review").get_data(as_text=True)
    assert "Faltan algunas respuestas" in body and "Elija una valoración" in body
    summary = post_rating(referee, link, full_answers(relationship_years="2.5"), "review").get_data(as_text=True)
    assert "Revise su valoración antes de enviarla" in summary and "<dd>2,5</dd>" in summary


def test_the_spanish_catalogue_is_complete_and_keeps_every_placeholder():
    with open(CATALOG, "rb") as handle:
        catalog = read_po(handle)
    messages = [m for m in catalog if m.id]
    assert len(messages) > 100
    for message in messages:
        assert message.string, f"untranslated: {message.id}"
        assert "fuzzy" not in message.flags, message.id
        for placeholder in re.findall(r"%\(\w+\)s|\{\w+\}", message.id):
            assert placeholder in message.string, (message.id, placeholder)


def test_the_nomination_form_offers_the_languages(app, browser, applicant_app):
    page = browser.get(f"/applications/{applicant_app.id}/references/").get_data(as_text=True)
    assert 'value="es"' in page and "Español" in page
    response = browser.submit(f"/applications/{applicant_app.id}/references/", nomination(language="fr"))
    assert "Not a valid choice" in response.get_data(as_text=True)
