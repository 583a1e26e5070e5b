"""The running stack against its committed contract, docs/openapi.json.

schemathesis generates requests for each operation, both fitting the document and not, sends
them to the local stack over HTTP, and checks every answer: no 5xx, a status code the document
lists, its content type, its schema, its headers. Explicit cases add what generation rarely
reaches: an accepted call, its replay, provider refusals, a call that exists.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.stack import ROOT, RunningStack, local_stack
from tests.e2e.traffic import SimulatorAdmin

pytestmark = pytest.mark.e2e

SCHEMA = schemathesis.openapi.from_path(str(ROOT / "docs" / "openapi.json"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
MAX_EXAMPLES = 150  # per operation and generation mode
TIME_CAP_SECONDS = 20.0  # per operation and mode: later examples are not sent
# (method, path, generation mode): GET /calls/{call_id} takes any string, nothing to violate.
RUNS = [
    ("POST", "/calls", GenerationMode.POSITIVE),
    ("POST", "/calls", GenerationMode.NEGATIVE),
    ("GET", "/calls/{call_id}", GenerationMode.POSITIVE),
]


@pytest.fixture(scope="module")
def schema_stack() -> Iterator[RunningStack]:
    with local_stack("--concurrency", "3", "--simulator-delays", "0.05") as running:
        yield running


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # loopback: never through a proxy from the environment
        yield session


@pytest.mark.parametrize(("method", "path", "mode"), RUNS)
def test_generated_requests_get_documented_answers(
    schema_stack: RunningStack,
    session: requests.Session,
    figures: Callable[..., None],
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    # Given the operation as docs/openapi.json describes it
    operation = SCHEMA[path][method]
    statuses: Counter[int] = Counter()
    deadline = time.monotonic() + TIME_CAP_SECONDS

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,  # nothing left behind; failures are printed, not stored
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        if time.monotonic() > deadline:
            return
        # When a generated request is sent to the stack
        response = case.call(base_url=schema_stack.url, session=session, timeout=35)
        statuses[response.status_code] += 1
        # Then the answer is no 5xx and is what the document says
        case.validate_response(response, checks=CHECKS)

    check()

    assert sum(statuses.values()) >= 20, statuses  # the time cap did not leave it empty
    figures(
        {
            "operation": f"{method} {path}",
            "mode": mode.value,
            "cases": sum(statuses.values()),
            "statuses": dict(sorted(statuses.items())),
        }
    )


def test_each_answer_a_caller_can_provoke_matches_the_document(
    schema_stack: RunningStack, session: requests.Session, figures: Callable[..., None]
) -> None:
    place = SCHEMA["/calls"]["POST"]
    read = SCHEMA["/calls/{call_id}"]["GET"]

    def checked(case: Any, *, documented_5xx: bool = False) -> Any:
        response = case.call(base_url=schema_stack.url, session=session, timeout=35)
        # a 502 the document lists for a provider refusal is no server error
        checks = [c for c in CHECKS if not (documented_5xx and c is not_a_server_error)]
        case.validate_response(response, checks=checks)
        return response

    def new_call() -> dict[str, Any]:
        phone = f"09{secrets.randbelow(10**8):08d}"
        return {"phone": phone, "template_id": "contract", "request_id": uuid.uuid4().hex}

    with SimulatorAdmin(schema_stack.simulator_url) as simulator:
        refused, out_of_money = new_call(), new_call()
        simulator.add_rule({"phone": refused["phone"], "code": "108"})
        simulator.add_rule({"phone": out_of_money["phone"], "code": "103"})
        try:
            # Given a valid call, a number the provider refuses, an account out of money
            call = new_call()
            # When each is placed, replayed or read, Then each answer fits the document
            accepted = checked(place.Case(body=call, media_type="application/json"))
            assert accepted.status_code == 202
            replay = checked(place.Case(body=call, media_type="application/json"))
            assert replay.status_code == 202
            assert replay.headers.get("idempotent-replayed") == ["true"]
            assert replay.json() == accepted.json()
            other = {**call, "template_id": "another"}
            assert checked(place.Case(body=other, media_type="application/json")).status_code == 422
            by_header = {key: value for key, value in new_call().items() if key != "request_id"}
            keyed = place.Case(
                body=by_header, headers={"Idempotency-Key": uuid.uuid4().hex},
                media_type="application/json",
            )  # fmt: skip
            assert checked(keyed).status_code == 202
            refusal = checked(place.Case(body=refused, media_type="application/json"))
            assert refusal.status_code == 422
            broke = checked(
                place.Case(body=out_of_money, media_type="application/json"), documented_5xx=True
            )
            assert broke.status_code == 502
            found = checked(read.Case(path_parameters={"call_id": accepted.json()["call_id"]}))
            assert found.status_code == 200
            missing = checked(read.Case(path_parameters={"call_id": uuid.uuid4().hex}))
            assert missing.status_code == 404
        finally:
            simulator.reset_rules()
    figures({"explicit_cases": 8, "statuses": [202, 202, 422, 202, 422, 502, 200, 404]})
