"""The four journeys of the portal in Chromium, through the e-mails people receive."""

from __future__ import annotations

from datetime import timedelta

import pytest

from refportal.accounts.models import Role
from refportal.db import utc_today
from refportal.references.rating_form import DOMAINS
from refportal.references.steps import STEPS
from tests.e2e.pages import check_page
from tests.e2e.rating_measures import Run, complete
from tests.e2e.steps import login, rate, staff_record_a_cheque
from tests.factories import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.e2e

PASSWORD = "avery pass phrase 2026"
REFEREES = [
    ("Sam Supervisor", "sam@example.net", "supervisor"),
    ("Rae Provider", "rae@example.net", "rsc_provider"),
    ("Cole League", "cole@example.net", "colleague"),
]


def nominate(page, name, email, role, language="en"):
    page.fill("#name", name)
    page.fill("#email", email)
    page.fill("#organisation", "Riverside Family Services")
    page.select_option("#role", role)
    page.fill("#setting", "Home visiting program")
    page.fill("#known_years", "3")
    page.check("#waived-0")
    page.check(f"input[name=language][value={language}]")
    page.click("main button:text-is('Nominate'), main button:text-is('Replace')")


def test_the_four_journeys(chromium, portal):
    with portal.app.app_context():
        make_user(email="reviewer@example.org", name="Rita Reviewer", role=Role.REVIEWER)
        make_user(email="reviewer2@example.org", name="Rafe Reviewer", role=Role.REVIEWER)
        make_user(email="admin@example.org", name="Alex Admin", role=Role.ADMIN)

    # 1. The applicant registers, verifies, opens an application, enters evidence and membership,
    #    nominates three referees and sends the requests.
    applicant = chromium.new_context().new_page()
    applicant.goto(portal.url + "/")
    check_page(applicant, "start page")
    applicant.click("main >> text=Create an account")
    check_page(applicant, "register")
    applicant.fill("#name", "Avery Applicant")
    applicant.fill("#email", "avery@example.org")
    applicant.fill("#password", PASSWORD)
    applicant.fill("#confirm", PASSWORD)
    applicant.click("main button[type=submit]")
    check_page(applicant, "check your e-mail")
    applicant.goto(portal.link("avery@example.org", "/verify-email/"))
    check_page(applicant, "confirm e-mail")
    applicant.click("text=Confirm my e-mail address")
    check_page(applicant, "login after verification")
    applicant.fill("#email", "avery@example.org")
    applicant.fill("#password", PASSWORD)
    applicant.click("main button[type=submit]")
    check_page(applicant, "dashboard, empty")
    applicant.click("text=Open a new application")
    check_page(applicant, "new application with fees")
    applicant.check("#credential-0")
    applicant.check("#category-1")
    applicant.click("text=Open the application")
    check_page(applicant, "application")
    applicant.click("text=Add or change your evidence")
    check_page(applicant, "evidence, none yet")
    applicant.select_option("#education-level", "master")
    applicant.fill("#education-field_of_study", "Social work")
    applicant.fill("#education-institution", "State University")
    applicant.fill("#education-year_completed", str(utc_today().year - 4))
    applicant.click("main button:text-is('Add education')")
    applicant.fill("#training-title", "Reflective practice")
    applicant.fill("#training-provider", "Regional association")
    applicant.fill("#training-taken_on", (utc_today() - timedelta(days=60)).isoformat())
    applicant.fill("#training-hours", "40")
    applicant.click("main button:text-is('Add training')")
    applicant.fill("#rsc-provider", "Morgan Reyes")
    applicant.fill("#rsc-provider_credential", "IMH-E Mentor–Clinical")
    applicant.fill("#rsc-starts_on", (utc_today() - timedelta(days=300)).isoformat())
    applicant.fill("#rsc-ends_on", (utc_today() - timedelta(days=1)).isoformat())
    applicant.fill("#rsc-hours", "30")
    applicant.check("#rsc-format-0")
    applicant.click("main button:text-is('Add supervision')")
    check_page(applicant, "evidence, every requirement met")
    applicant.click("text=Back to the application")
    applicant.click("text=Declare membership")
    check_page(applicant, "membership")
    applicant.check("#kind-0")
    applicant.select_option("#association", "infancy_onward")
    applicant.fill("#member_number", "IO-777")
    applicant.fill("#expires_on", (utc_today() + timedelta(days=200)).isoformat())
    applicant.click("main button:text-is('Save')")
    applicant.click("text=Manage your references")
    check_page(applicant, "references, none yet")
    for name, email, role in REFEREES:
        nominate(applicant, name, email, role, language="es" if email.startswith("rae") else "en")
    check_page(applicant, "references nominated")
    staff_record_a_cheque(portal, "avery@example.org")  # the fees, paid by cheque, before the requests go out
    applicant.click("text=Send the requests")
    check_page(applicant, "references asked")

    # 2. Referee one: the first steps, half of the third, a draft, the browser closed, back by the same
    #    link (to the step left unfinished), submitted.
    link = portal.link("sam@example.net", "/r/")
    first_visit = chromium.new_context()
    sam = first_visit.new_page()
    sam.goto(link)
    check_page(sam, "rating form, step 1")
    sam.fill("#relationship_role", "Program supervisor")
    sam.fill("#relationship_setting", "Home visiting")
    sam.click("text=Save and continue")
    check_page(sam, "rating form, step 2")
    rate(sam, STEPS[1].item_keys)
    sam.click("text=Save and continue")
    rate(sam, STEPS[2].item_keys[:2])
    sam.click("text=Save draft")
    check_page(sam, "draft saved")
    first_visit.close()
    sam = chromium.new_context().new_page()
    sam.goto(link)
    assert sam.inner_text("main .progress strong") == "Step 3 of 7"
    assert sam.is_checked(f"input[name=item_{STEPS[2].item_keys[0]}][value='4']")
    run = Run()
    complete(sam, run)
    assert all(p["axe"] == 0 for p in run.pages), run.pages
    check_page(sam, "thank you")

    #    Referee two, asked in Spanish, declines with a reason.
    rae = chromium.new_context().new_page()
    rae.goto(portal.link("rae@example.net", "/r/", subject="Solicitud de referencia"))
    check_page(rae, "rating form in Spanish")
    rae.click("text=Rechace esta solicitud")
    check_page(rae, "decline in Spanish")
    rae.fill("#reason", "Estoy de baja hasta la primavera.")
    rae.click("main button:text-is('Rechazar la solicitud')")
    check_page(rae, "declined in Spanish")
    assert "Ha rechazado esta solicitud" in rae.inner_text("main")

    #    Referee three, on a phone-sized screen, with the keyboard only.
    cole = chromium.new_context(viewport={"width": 360, "height": 740}).new_page()
    cole.goto(portal.link("cole@example.net", "/r/"))
    check_page(cole, "rating form at 360 px")
    assert cole.evaluate("document.documentElement.scrollWidth") <= 360
    box = cole.locator("main button").first.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44, box
    run = Run()
    complete(cole, run)
    assert all(p["axe"] == 0 for p in run.pages), run.pages
    assert cole.locator("main h1").inner_text() == "Thank you"

    # 3. The applicant sees the statuses and replaces the referee who declined; the new one submits.
    applicant.goto(portal.url + "/dashboard")
    applicant.click("text=Infant Family Specialist")
    applicant.click("text=Manage your references")
    check_page(applicant, "references answered")
    cards = applicant.locator("section.card")
    assert "Submitted" in cards.nth(0).inner_text() and "Declined" in cards.nth(1).inner_text()
    cards.nth(1).locator("text=Replace this referee").click()
    check_page(applicant, "replace a referee")
    nominate(applicant, "Nia New", "nia@example.net", "rsc_provider")
    nia = chromium.new_context().new_page()
    nia.goto(portal.link("nia@example.net", "/r/"))
    complete(nia, Run(), axe=False)
    applicant.reload()
    assert applicant.locator("text=Replace this referee").count() == 0
    applicant.goto(applicant.url.replace("/references/", "/submit"))
    check_page(applicant, "submit the application")
    applicant.check("#attest")
    applicant.click("text=Submit for review")
    check_page(applicant, "application submitted")

    # 4. An admin opens a review round (the suggested dates cover today's submission) and auto-assigns
    #    the two reviewers; each reviews independently (the second sees the first's recommendation only
    #    after recording their own); their agreement decides, and the applicant is told.
    admin = chromium.new_context().new_page()
    login(admin, portal, "admin@example.org", DEFAULT_PASSWORD)
    admin.click("nav >> text=Rounds")
    check_page(admin, "review rounds")
    admin.click("text=Open the round")
    check_page(admin, "round page")
    admin.click("text=Auto-assign reviewers")
    assert "2 assignment(s) made across 1 file(s)" in admin.inner_text("main")
    digests = [m for r in ("reviewer@example.org", "reviewer2@example.org") for m in portal.mail_to(r)]
    assert len(digests) == 2 and all("1 file to review in round" in m["Subject"] for m in digests)

    reviewer = chromium.new_context().new_page()
    login(reviewer, portal, "reviewer@example.org", DEFAULT_PASSWORD)
    reviewer.click("nav >> text=My files")
    check_page(reviewer, "my assigned files")
    reviewer.click("text=Avery Applicant")
    check_page(reviewer, "application file")
    assert reviewer.locator("table.matrix").count() == 1
    assert reviewer.locator("figure.chart svg.chart-bars").count() == len(DOMAINS)
    assert reviewer.locator("figure.chart svg text").count() == 0  # every label is HTML text, its contrast measurable
    assert "None of the referees is endorsed" in reviewer.inner_text("section[aria-labelledby=flags-title]")
    reviewer.check("#verdict-0")
    reviewer.fill("#note", "Checked with INfancy Onward")
    reviewer.click("text=Record")
    reviewer.check("#outcome-0")
    reviewer.fill("#notes", "A strong file.")
    reviewer.click("text=Record my review")
    check_page(reviewer, "file after review")

    second = chromium.new_context().new_page()
    login(second, portal, "reviewer2@example.org", DEFAULT_PASSWORD)
    second.click("nav >> text=My files")
    second.click("text=Avery Applicant")
    reviews = second.inner_text("main")
    assert "A strong file." not in reviews and "shown once you have recorded your own" in reviews
    second.check("#outcome-0")
    second.click("text=Record my review")
    assert "A strong file." in second.inner_text("main")

    admin.goto(portal.url + "/review/")
    admin.click("text=Avery Applicant")
    check_page(admin, "file after decision")
    assert "Endorsed" in admin.inner_text("main h1 + p")
    decision = portal.mail_to("avery@example.org")[-1]
    assert decision["Subject"] == "Your IMH-E endorsement is granted"
    assert "renew by" in decision.get_body(preferencelist=("plain",)).get_content()


def test_the_accessibility_check_finds_violations_when_there_are_some(chromium):
    """The control for every check above: axe-core does report a page with faults."""
    from tests.e2e.pages import AXE

    page = chromium.new_context().new_page()
    page.set_content('<html><body><img src="x.png"><input type="text"><a href="#"></a></body></html>')
    results = AXE.run(page)
    assert results.violations_count >= 2
