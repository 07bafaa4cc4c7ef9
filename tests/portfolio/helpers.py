"""Evidence entries of an application, built through the portal's own services (in an app context; the
caller commits when a request must see them). A plain module: tests import from here."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from refportal.applications import evidence
from refportal.applications.categories import EducationLevel
from refportal.applications.models import Application
from refportal.db import utc_today
from refportal.portfolio.models import RscFormat

CSRF_ANY = re.compile(r'name="(?:[a-z]+-)?csrf_token"[^>]*value="([^"]+)"')


def token_from(html: str) -> str:
    """The page's CSRF token (the evidence page's forms carry it under their prefix)."""
    match = CSRF_ANY.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def add_education(application: Application, level: EducationLevel = EducationLevel.MASTER, year: int | None = None):
    return evidence.add_education(
        application=application,
        actor=application.applicant,
        level=level.value,
        field_of_study="Social work",
        institution="State University",
        year_completed=year or utc_today().year - 5,
    )


def add_work(
    application: Application,
    *,
    starts_on: date,
    ends_on: date | None,
    hours_per_week: int = 40,
    serves_0_3: bool = True,
    serves_3_6: bool = False,
):
    return evidence.add_work(
        application=application,
        actor=application.applicant,
        employer="Family Start Center",
        role="Home visitor",
        starts_on=starts_on,
        ends_on=ends_on,
        hours_per_week=hours_per_week,
        serves_0_3=serves_0_3,
        serves_3_6=serves_3_6,
        description=None,
    )


def add_training(application: Application, hours: str = "40", taken_on: date | None = None):
    return evidence.add_training(
        application=application,
        actor=application.applicant,
        title="Reflective practice",
        provider="Regional association",
        taken_on=taken_on or utc_today() - timedelta(days=60),
        hours=Decimal(hours),
    )


def add_rsc(application: Application, hours: str = "30", credential: str | None = "IMH-E Mentor–Clinical"):
    today = utc_today()
    return evidence.add_rsc(
        application=application,
        actor=application.applicant,
        provider="Morgan Reyes",
        provider_credential=credential,
        starts_on=today - timedelta(days=300),
        ends_on=today - timedelta(days=1),
        hours=Decimal(hours),
        format=RscFormat.INDIVIDUAL,
    )


def record_evidence(
    application: Application,
    *,
    education: EducationLevel | None = EducationLevel.MASTER,
    training: str | None = "60",
    rsc: str | None = "60",
) -> Application:
    """Entries enough for any category's clinical requirements by default (flushed, not committed)."""
    if education is not None:
        add_education(application, education)
    if training is not None:
        add_training(application, training)
    if rsc is not None:
        add_rsc(application, rsc)
    return application


def post_entry(browser, application_path: str, kind: str, data: dict, *, follow: bool = False):
    """One entry posted on the application's Evidence page as the applicant does (the form's fields carry
    its kind as prefix)."""
    page = browser.get(f"{application_path}/evidence")
    payload = {f"{kind}-csrf_token": token_from(page.get_data(as_text=True))}
    payload |= {f"{kind}-{key}": value for key, value in data.items()}
    return browser.client.post(f"{application_path}/evidence/{kind}", data=payload, follow_redirects=follow)


def enter_evidence(
    browser,
    application_path: str,
    *,
    level: str = "master",
    training_hours: str = "40",
    rsc_hours: str = "60",
    text: str = "",
) -> None:
    """Education, training and RSC entries through the Evidence page (`text` added to their free text);
    each must be accepted."""
    year = str(utc_today().year - 3)
    day = (utc_today() - timedelta(days=30)).isoformat()
    entries = (
        (
            "education",
            {"level": level, "field_of_study": f"Social work {text}", "institution": "U", "year_completed": year},
        ),
        ("training", {"title": f"Course {text}", "provider": "Association", "taken_on": day, "hours": training_hours}),
        (
            "rsc",
            {
                "provider": f"Morgan {text}",
                "provider_credential": "IMH-E Mentor",
                "starts_on": day,
                "ends_on": day,
                "hours": rsc_hours,
                "format": "individual",
            },
        ),
    )
    for kind, data in entries:
        response = post_entry(browser, application_path, kind, data)
        assert response.status_code == 302, response.get_data(as_text=True)
