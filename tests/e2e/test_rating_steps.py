"""The referee's rating form in steps, in Chromium: completed by keyboard only and by touch at 360 px
and at 1280 px, with JavaScript and without; a draft that survives closing the tab at every step; axe
and pa11y on every step in English and Spanish. The figures (page heights, key presses, requests,
accessibility counts) are written to test-artifacts/e2e/rating-measures.json."""

from __future__ import annotations

import json

import pytest

from tests.builders import ready_applicant
from tests.e2e.artifacts import ARTIFACTS
from tests.e2e.pa11y_runner import pa11y, summary
from tests.e2e.pa11y_runner import pa11y_settings as runner_settings
from tests.e2e.rating_measures import Run, answer_by_touch, complete, count_requests, page_name, record_page
from tests.references.helpers import REFEREES, full_answers, nominate, post_rating, send_requests

pytestmark = pytest.mark.e2e

PHONE = {"width": 360, "height": 640}
DESKTOP = {"width": 1280, "height": 800}
THREE_SCREENS = 3 * PHONE["height"]
MEASURES = ARTIFACTS / "rating-measures.json"


@pytest.fixture(scope="module")
def pa11y_settings() -> dict:
    """pa11y's runners, standard and Chromium."""
    return runner_settings()


def asked(portal, languages=("en", "es", "en")) -> dict[str, str]:
    """An application whose three referees were asked (in `languages`): their links by address."""
    applicant, application = ready_applicant(portal.app)
    for referee, language in zip(REFEREES, languages, strict=True):
        assert nominate(applicant, application.id, language=language, **referee).status_code == 302
    send_requests(applicant, application.id)
    return {r["email"]: portal.link(r["email"], "/r/") for r in REFEREES}


def save_measures(name: str, figures: dict) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    found = json.loads(MEASURES.read_text()) if MEASURES.exists() else {}
    found[name] = figures
    MEASURES.write_text(json.dumps(found, indent=2, ensure_ascii=False) + "\n")


def test_the_form_is_completed_by_keyboard_and_by_touch_at_both_widths(chromium, portal):
    links = asked(portal)
    runs = {}
    for name, email, viewport, keyboard, javascript, touch in (
        ("keyboard at 360 px", "cole@example.net", PHONE, True, True, False),
        ("keyboard at 1280 px", "sam@example.net", DESKTOP, True, True, False),
        ("touch at 360 px, Spanish, JavaScript off", "rae@example.net", PHONE, False, False, True),
    ):
        context = chromium.new_context(viewport=viewport, has_touch=touch, java_script_enabled=javascript)
        page = context.new_page()
        page.set_default_timeout(15_000)
        run = Run()
        count_requests(page, run, portal.url)
        page.goto(links[email])
        complete(page, run, keyboard=keyboard, axe=javascript)  # axe-core needs the page's JavaScript
        assert page.locator("main h1").inner_text() in ("Thank you", "Gracias")
        context.close()
        runs[name] = run.as_dict()
    save_measures("after: completing the form", runs)
    for name, run in runs.items():
        assert all(p["axe"] in (0, None) for p in run["pages"]), (name, run["pages"])
        if "360" in name:
            too_tall = [p for p in run["pages"] if p["height"] > THREE_SCREENS]
            assert not too_tall, f"{name}: taller than three screens: {too_tall}"
    with portal.app.app_context():
        from refportal.extensions import db
        from refportal.references.models import Rating

        ratings = db.session.query(Rating).all()
        assert len(ratings) == 3 and all(r.counts and len(r.answers) == 19 for r in ratings)
        assert all(set(r.answers.values()) == {"4"} for r in ratings)


def test_a_draft_survives_closing_the_tab_at_every_step(chromium, portal):
    """Answer a step by touch, leave it without pressing anything once the page says it saved, close
    the tab: the same link, in a new browser, opens the next step, and the answers are there."""
    link = asked(portal)["sam@example.net"]
    survived = []
    for number in range(1, 7):
        context = chromium.new_context(viewport=PHONE, has_touch=True)
        page = context.new_page()
        page.goto(link)
        assert page.locator("main .progress strong").inner_text() == f"Step {number} of 7"
        boxes = [target.bounding_box() for target in page.locator("label.choice, main button").all()]
        assert all(box["width"] >= 44 and box["height"] >= 44 for box in boxes), boxes  # touch targets
        answer_by_touch(page, Run())
        page.wait_for_selector("form[data-draft][data-state=saved]")
        context.close()
        again = chromium.new_context(viewport=PHONE).new_page()
        again.goto(f"{link}/step/{number}")
        unanswered = again.evaluate(
            "() => [...new Set([...document.querySelectorAll('main form input[type=radio]')].map(r => r.name))]"
            ".filter(n => !document.querySelector(`input[name='${n}']:checked`))"
        )
        assert unanswered == [], (number, unanswered)
        survived.append(number)
        again.context.close()
    final = chromium.new_context(viewport=PHONE, has_touch=True).new_page()
    final.goto(link)
    assert "Check your rating" in final.inner_text("main h1")  # every step's answers are in
    with final.expect_navigation():
        final.tap("main form[action$='/submit'] button[type=submit]")
    assert final.locator("main h1").inner_text() == "Thank you"
    save_measures("after: draft survives closing the tab", {"steps": survived})


def test_every_step_passes_axe_and_pa11y_in_english_and_spanish(chromium, portal, pa11y_settings, tmp_path):
    links = asked(portal)
    found = {}
    for email, language in (("sam@example.net", "en"), ("rae@example.net", "es")):
        referee = portal.app.test_client()
        assert post_rating(referee, links[email], full_answers(na=6), "save").status_code == 302
        urls = [f"{links[email]}/step/{n}" for n in range(1, 7)] + [f"{links[email]}/summary"]
        for viewport in (PHONE, DESKTOP):
            page = chromium.new_context(viewport=viewport).new_page()
            for url in urls:
                page.goto(url)
                run = Run()
                record_page(page, run, page_name(page))
                [figures] = run.pages
                settings = {**pa11y_settings, "viewport": {"width": viewport["width"], "height": 1024}}
                issues = pa11y(url, settings, tmp_path, expect="main h1")
                figures.update(language=language, width=viewport["width"], pa11y=len(issues))
                found[f"{language} {viewport['width']} {figures['page']}"] = figures
                assert figures["axe"] == 0 and issues == [], f"{url} at {viewport}:\n{summary(issues)}"
                if viewport is PHONE:
                    assert figures["height"] <= THREE_SCREENS, figures
            page.context.close()
    save_measures("after: axe and pa11y per step", found)


def test_leaving_with_an_answer_not_yet_saved_asks_first(chromium, portal):
    link = asked(portal)["sam@example.net"]
    page = chromium.new_context().new_page()
    page.goto(link)
    asked_first = []

    def answer(dialog):
        asked_first.append(dialog.type)
        dialog.dismiss()  # stay on the page

    page.on("dialog", answer)
    page.click("#relationship_role")
    page.keyboard.type("Supervisor")  # saved only after a pause: not yet
    page.close(run_before_unload=True)
    for _ in range(50):  # the question arrives as an event: on a busy machine, not at once
        if asked_first:
            break
        page.wait_for_timeout(100)
    assert asked_first == ["beforeunload"] and not page.is_closed()
    page.wait_for_selector("form[data-draft][data-state=saved]")  # then saved, as answers are
    with page.expect_event("close"):
        page.close(run_before_unload=True)  # nothing unsaved: no question
    assert asked_first == ["beforeunload"]
