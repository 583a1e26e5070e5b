"""The local gateway's status lines and the API's problem titles name every status alike."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from devstack.apigw import REASON_PHRASES
from esms_calls.api.problems import title_of

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("status", [s for s in HTTPStatus if s >= 400], ids=str)
def test_a_status_line_says_what_the_problem_title_says(status: HTTPStatus) -> None:
    assert REASON_PHRASES.get(status.value, status.phrase) == title_of(status)


def test_the_names_are_rfc_9110s_whatever_the_python() -> None:
    assert title_of(HTTPStatus(422)) == "Unprocessable Content"
    assert title_of(HTTPStatus(413)) == "Content Too Large"
