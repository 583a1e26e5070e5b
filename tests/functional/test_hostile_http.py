"""Arbitrary bodies and headers through the CallsFunction handler: a clean answer, never a 5xx."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import events

ACCEPTABLE = {202, 400, 409, 413, 415, 422}
bodies = (
    st.binary(max_size=300)
    | st.text(max_size=300).map(str.encode)
    | st.dictionaries(
        st.sampled_from(["phone", "Phone", "template_id", "ivr", "send_at", "max_retry", "x"]),
        st.none() | st.integers() | st.text(max_size=30) | st.lists(st.integers(), max_size=3),
        max_size=6,
    ).map(lambda d: json.dumps(d).encode())
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies, base64=st.booleans(), key=st.none() | st.text(max_size=60))
def test_any_request_gets_a_clean_answer(
    invoke_calls, esms, body: bytes, base64: bool, key
) -> None:
    headers = {"Idempotency-Key": key} if key is not None and key.isprintable() else {}
    if base64:
        event = events.post_calls(body, headers=headers)
    else:
        event = events.post_calls(body.decode("utf-8", errors="replace"), headers=headers)
    response = invoke_calls(event)
    assert response["statusCode"] in ACCEPTABLE, response
    if response["statusCode"] != 202:
        problem = json.loads(response["body"])
        assert problem["status"] == response["statusCode"]
