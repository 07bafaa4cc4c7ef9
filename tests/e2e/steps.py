"""What a person does in Chromium, shared by the browser journeys: log in, rate, finish a rating."""

from __future__ import annotations


def login(page, portal, email, password):
    page.goto(portal.url + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("main button[type=submit]")


def rate(page, keys, score="4"):
    for key in keys:
        page.check(f"input[name=item_{key}][value='{score}']")


def finish_rating(page, name):
    page.check("#recommendation-0")
    page.fill("#strengths", f"{name}: warm and attuned with families.")
    page.fill("#growth", "Documentation could be quicker.")
    page.fill("#relationship_role", "Program supervisor")
    page.fill("#relationship_setting", "Home visiting")
    page.fill("#relationship_years", "3")
    page.fill("#attestation_name", name)
    page.check("#attest")
