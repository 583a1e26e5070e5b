"""Whatever arrives, the parsers answer with a value or a validation error, never a crash."""

from __future__ import annotations

import json

from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from esms_calls.api.problems import PROBLEM_JSON, answer_for
from esms_calls.domain.reports import REPORT_FIELDS, parse_report, query_values
from esms_calls.requests.aliases import PROVIDER_NAMES
from esms_calls.requests.calls import PlaceCallRequest

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=60),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from([*PROVIDER_NAMES, *PROVIDER_NAMES.values()]) | st.text(max_size=12)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=400))
def test_any_query_string_parses_to_a_report(raw_query: str) -> None:
    report = parse_report(query_values(raw_query))
    assert set(report.raw) <= set(REPORT_FIELDS)
    assert report.digest  # a stable identity, even for odd values


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(REPORT_FIELDS), st.text(max_size=40), max_size=8))
def test_any_report_values_parse_or_are_flagged(values: dict[str, str]) -> None:
    report = parse_report(values)
    if report.is_odd:
        assert report.status is None and report.result is None
    else:
        assert report.result is not None


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(field_names, json_values, max_size=12) | json_values)
def test_any_json_body_validates_or_is_refused_cleanly(body: object) -> None:
    # Given any JSON body; When the request model reads it
    try:
        request = PlaceCallRequest.model_validate(body)
    except ValidationError as error:
        # Then a refusal is the 422 problem api/problems.py renders, naming a field and a
        # message for each error (as Powertools hands the model's errors to it)
        answer = answer_for(RequestValidationError(error.errors()))
        problem = json.loads(answer.body)
        assert (answer.status_code, answer.content_type) == (422, PROBLEM_JSON)
        assert problem["type"] == "urn:esms-calls:problem:invalid-request"
        assert len(problem["errors"]) == error.error_count()
        assert all(e["field"] and e["message"] for e in problem["errors"])
    else:
        # Then an accepted body is a call to a number in its national form
        assert request.to_spec().phone.startswith("0")
