"""The API's request and response shapes (marshmallow): they validate requests and describe the API
in its OpenAPI document."""

from __future__ import annotations

import marshmallow as ma

from refportal.applications.categories import Credential
from refportal.applications.lifecycle import ApplicationStatus
from refportal.endorsements.lifecycle import IN_FORCE
from refportal.membership.models import MembershipStatus
from refportal.references.lifecycle import ReferenceStatus

MAX_PAGE = 200
ROSTER_MAX_ROWS = 5_000  # per request (a larger roster goes in several requests)


class Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE  # an unknown field is an error, not silently dropped


class ListArguments(Strict):
    changed_since = ma.fields.AwareDateTime(
        load_default=None,
        metadata={"description": "Only applications changed after this moment (ISO 8601 with a time zone)."},
    )
    cursor = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=500),
        metadata={"description": "The `next_cursor` of the previous page."},
    )
    limit = ma.fields.Integer(
        load_default=50, validate=ma.validate.Range(1, MAX_PAGE), metadata={"description": "Items per page."}
    )


class Applicant(ma.Schema):
    name = ma.fields.String(required=True)
    email = ma.fields.Email(required=True)


class Round(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    review_due = ma.fields.Date(required=True)


# How many of the application's references are in each state (states with none are left out).
ReferenceCounts = ma.Schema.from_dict(
    {status.value: ma.fields.Integer() for status in ReferenceStatus}, name="ReferenceCounts"
)


class Application(ma.Schema):
    id = ma.fields.Integer(required=True)
    applicant = ma.fields.Nested(Applicant, required=True)
    credential = ma.fields.String(required=True, validate=ma.validate.OneOf([c.value for c in Credential]))
    category = ma.fields.Integer(required=True)
    category_name = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf([s.value for s in ApplicationStatus]))
    round = ma.fields.Nested(Round, required=True, allow_none=True)
    created_at = ma.fields.AwareDateTime(required=True)
    submitted_at = ma.fields.AwareDateTime(required=True, allow_none=True)
    decided_at = ma.fields.AwareDateTime(required=True, allow_none=True)
    renews_on = ma.fields.Date(
        required=True, allow_none=True, metadata={"description": "An endorsement's renewal date (null otherwise)."}
    )
    membership_status = ma.fields.String(
        required=True, allow_none=True, validate=ma.validate.OneOf([s.value for s in MembershipStatus])
    )
    references = ma.fields.Nested(ReferenceCounts, required=True)
    changed_at = ma.fields.AwareDateTime(required=True)


# One line of text: no control characters (a NUL cannot even be searched for in PostgreSQL); as a
# pattern, so the OpenAPI description says it.
SINGLE_LINE = ma.validate.Regexp(
    r"^[^\x00-\x1f\x7f-\x9f]*$", error="Use a single line of text, without control characters."
)


class RegistryArguments(Strict):
    name = ma.fields.String(
        load_default="",
        validate=[ma.validate.Length(max=120), SINGLE_LINE],
        metadata={"description": "The start of the name or of any later word in it (a surname), whatever the case."},
    )
    credential = ma.fields.String(
        load_default=None,
        validate=ma.validate.OneOf([c.value for c in Credential]),
        metadata={"description": "imh-e or ecmh-e."},
    )
    category = ma.fields.Integer(load_default=None, validate=ma.validate.Range(1, 4))
    place = ma.fields.String(
        load_default="",
        validate=[ma.validate.Length(max=120), SINGLE_LINE],
        metadata={"description": "Part of the city or region (only where the endorsee shows it)."},
    )
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(1, 10_000))
    limit = ma.fields.Integer(
        load_default=50, validate=ma.validate.Range(1, MAX_PAGE), metadata={"description": "Entries per page."}
    )


class RegistryEntry(ma.Schema):
    number = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    credential = ma.fields.String(required=True, metadata={"description": "IMH-E or ECMH-E."})
    category = ma.fields.Integer(required=True)
    category_name = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf([s.value for s in IN_FORCE]))
    valid_until = ma.fields.Date(required=True)
    city = ma.fields.String(required=True, allow_none=True)


class RegistryPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RegistryEntry), required=True)
    page = ma.fields.Integer(required=True)
    next_page = ma.fields.Integer(required=True, allow_none=True, metadata={"description": "null on the last page."})


class ApplicationPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(Application), required=True)
    next_cursor = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "Pass as `cursor` for the next page; null at the end."}
    )


class RosterRecord(Strict):
    """One roster row, as in the CSV import (which checks it further: an address it can deliver to)."""

    member_number = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40))
    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=254))
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=120))
    expires_on = ma.fields.Date(required=True)


class RosterBody(Strict):
    rows = ma.fields.List(
        ma.fields.Nested(RosterRecord), required=True, validate=ma.validate.Length(min=1, max=ROSTER_MAX_ROWS)
    )


class IdempotencyHeader(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE  # every other header of the request

    idempotency_key = ma.fields.String(
        required=True,
        data_key="Idempotency-Key",
        # Printable ASCII, as the IETF's Idempotency-Key header field has it (a NUL cannot even be stored).
        validate=[
            ma.validate.Length(min=1, max=100),
            ma.validate.Regexp(r"^[\x20-\x7e]*$", error="Use printable ASCII characters only."),
        ],
        metadata={
            "description": "Any unique string per import (printable ASCII): a repeat with the same body replays "
            "the answer."
        },
    )


class RosterMatch(ma.Schema):
    row = ma.fields.Integer(required=True)
    applicant = ma.fields.String(required=True)


class RosterConflict(ma.Schema):
    row = ma.fields.Integer(required=True)
    problem = ma.fields.String(required=True)
    application_id = ma.fields.Integer(required=True, allow_none=True)


class RosterReport(ma.Schema):
    rows = ma.fields.Integer(required=True)
    matched = ma.fields.List(ma.fields.Nested(RosterMatch), required=True)
    unmatched = ma.fields.List(ma.fields.Integer(), required=True, metadata={"description": "Rows (from 0)"})
    conflicts = ma.fields.List(ma.fields.Nested(RosterConflict), required=True)
