"""Every key page's floor, each in its own module with a `register(app)` that adds its route at the
same path as refportal's page, and its one template (the module's name + .html) in bench/floor/templates/."""

import refportal.models  # noqa: F401 - every model mapped before a floor builds its statements
from floor import (
    applicant_dashboard,
    application_file,
    application_page,
    my_assigned_files,
    referee_step,
    registry_search,
    registry_verification,
    review_queue,
    review_rounds,
)

ALL = [
    referee_step,
    applicant_dashboard,
    application_page,
    review_queue,
    application_file,
    my_assigned_files,
    review_rounds,
    registry_search,
    registry_verification,
]
