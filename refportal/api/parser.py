"""How the API reads request bodies: webargs' parser, with the bodies it would choke on refused as
problem documents (a JSON body nested deeper than any request of the API needs, a body that is not
JSON at all) instead of a RecursionError's 500 or a confusing "missing field"."""

from __future__ import annotations

import json
from typing import Any

from flask import Request
from flask_smorest import abort
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

# The roster body is three levels deep ({"rows": [{...}]}); Python's decoder itself gives up (with a
# RecursionError) somewhere below 1,000 levels, depending on how deep the stack already is.
MAX_JSON_DEPTH = 32
TOO_LONG_NUMBER = "A number in the JSON body has too many digits."
TOO_DEEP = f"The JSON body is nested too deeply (more than {MAX_JSON_DEPTH} levels of arrays and objects)."


def deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels in `value` (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


class ApiParser(FlaskParser):
    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            if req.get_data(cache=True):
                abort(415, message="Send the body as JSON (Content-Type: application/json).")
            return core.missing
        try:
            value = super()._raw_load_json(req)
        except RecursionError:
            abort(400, message=TOO_DEEP, errors={"json": [TOO_DEEP]})
        except json.JSONDecodeError:
            raise  # webargs answers it: "invalid JSON body"
        except ValueError:  # Python's limit on the digits of an integer (4,300)
            abort(400, message=TOO_LONG_NUMBER, errors={"json": [TOO_LONG_NUMBER]})
        if deeper_than(value, MAX_JSON_DEPTH):
            abort(400, message=TOO_DEEP, errors={"json": [TOO_DEEP]})
        return value
