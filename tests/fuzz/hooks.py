"""Schemathesis checks of ragd's own contract (loaded by tests/fuzz/api.sh).

Every 4xx answer must be ragd's error envelope,
{"error": {"code": "<stable code>", "message": "..."}}: a client can always
tell what went wrong without parsing prose.
"""
import re

import schemathesis

CODE = re.compile(r"^[a-z][a-z_]*$")


@schemathesis.check
def error_envelope(ctx, response, case):
    if not 400 <= response.status_code < 500:
        return None
    try:
        body = response.json()
    except Exception as e:  # not JSON at all
        raise AssertionError(f"{response.status_code} without a JSON body: {e}")
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        raise AssertionError(f"{response.status_code} without the error envelope: {body!r}")
    code, message = err.get("code"), err.get("message")
    if not (isinstance(code, str) and CODE.match(code)):
        raise AssertionError(f"{response.status_code} with a bad error code: {code!r}")
    if not (isinstance(message, str) and message):
        raise AssertionError(f"{response.status_code} with an empty message")
    return None
