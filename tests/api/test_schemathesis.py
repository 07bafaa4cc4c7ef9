"""Schemathesis against the API's own OpenAPI description: every operation, requests generated from it
(valid ones, and invalid ones it must refuse), no 5xx, and every answer matching the description
(status code, content type, body schema). The examples and operations are counted in
test-artifacts/schemathesis.txt."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.config._checks import NegativeDataRejectionConfig
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.helpers import bearer

EXAMPLES = 60
ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "schemathesis.txt"


def exercise(operation, mode: GenerationMode, key: str, counts: Counter[str]) -> None:
    """EXAMPLES requests generated for one operation in one mode, each checked by every check."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case) -> None:
        # Any string is a schema-valid cursor, but only the ones the API handed out are accepted (400
        # otherwise); roster rows go through the CSV import's own checks (an address it can deliver to),
        # which refuse some schema-valid rows (422): for those, the refusal is the right answer.
        beyond_schema = bool(case.query and "cursor" in case.query) or operation.path.endswith("/roster")
        # The key is the test's own: where the generated request carries an Authorization header it is
        # replaced by a working key; where a negative case left it out, it stays out.
        sent = {k.lower() for k in case.headers or {}}
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        if mode is GenerationMode.POSITIVE or "authorization" in sent:
            headers.update(bearer(key))
        case.headers = headers
        response = case.call_and_validate(excluded_checks=[positive_data_acceptance] if beyond_schema else [])
        counts[f"{operation.label} {mode.value} {response.status_code}"] += 1

    check()


def test_every_operation_answers_as_described(app, api_world):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # A body larger than the portal accepts is refused with the 413 the description documents (a
    # generated roster of more rows than maxItems can be that large): a rejection too.
    rejection = schema.config.checks.negative_data_rejection
    schema.config.checks.negative_data_rejection = NegativeDataRejectionConfig(
        expected_statuses=[*rejection.expected_statuses, "413"]
    )
    counts: Counter[str] = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 2
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            exercise(operation, mode, api_world["all"], counts)
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text("".join(f"{label}: {n}\n" for label, n in sorted(counts.items())))
    print(dict(counts))
    assert sum(counts.values()) >= len(operations) * EXAMPLES
