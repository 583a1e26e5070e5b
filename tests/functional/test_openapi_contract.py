"""The committed OpenAPI document is the code's: it does not drift, every status it documents is
one the handler returns (and with a body of the documented shape), and nothing else is returned."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from botocore.exceptions import ClientError

from esms_calls.api.openapi import openapi_json
from tests.support import events
from tests.support.clients import dynamodb_client
from tests.support.fake_esms import FakeEsms, body_of, raises, refuse

DOCUMENT_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
DOCUMENT = json.loads(DOCUMENT_PATH.read_text())
CALL = {"phone": "0912345678", "template_id": "1"}

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


def test_the_committed_document_is_the_generated_one() -> None:
    assert DOCUMENT_PATH.read_text() == openapi_json(), (
        "run `make openapi` and commit docs/openapi.json"
    )


def _failing_storage(invoke: Invoke, _esms: FakeEsms) -> dict[str, Any]:
    def fail(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, "PutItem")

    hooks = dynamodb_client().meta.events
    hooks.register_first("before-call.dynamodb.PutItem", fail)
    try:
        return invoke(events.post_calls(CALL))
    finally:
        hooks.unregister("before-call.dynamodb.PutItem", fail)


def _accepted_then_get(invoke: Invoke, _esms: FakeEsms) -> dict[str, Any]:
    call_id = body_of(invoke(events.post_calls(CALL)))["call_id"]
    return invoke(events.get_call(call_id))


SCENARIOS: dict[tuple[str, str], dict[int, Callable[[Invoke, FakeEsms], dict[str, Any]]]] = {
    ("/calls", "post"): {
        202: lambda invoke, esms: invoke(events.post_calls(CALL)),
        400: lambda invoke, esms: invoke(events.post_calls("{")),
        409: lambda invoke, esms: (esms.then(refuse("124")), invoke(events.post_calls(CALL)))[1],
        413: lambda invoke, esms: invoke(events.post_calls("x" * 70_000)),
        415: lambda invoke, esms: invoke(
            events.post_calls("phone=0912345678", headers={"Content-Type": "text/plain"})
        ),
        422: lambda invoke, esms: invoke(events.post_calls({"phone": "1"})),
        502: lambda invoke, esms: (esms.then(refuse("101")), invoke(events.post_calls(CALL)))[1],
        503: _failing_storage,
        504: lambda invoke, esms: (
            esms.then(raises(httpx.ReadTimeout)),
            invoke(events.post_calls(CALL)),
        )[1],
    },
    ("/calls/{call_id}", "get"): {
        200: _accepted_then_get,
        404: lambda invoke, esms: invoke(events.get_call("f" * 32)),
    },
}


def test_every_documented_operation_has_scenarios_for_exactly_its_statuses() -> None:
    documented = {
        (path, method): {int(status) for status in operation["responses"]}
        for path, operations in DOCUMENT["paths"].items()
        for method, operation in operations.items()
    }
    assert documented == {key: set(statuses) for key, statuses in SCENARIOS.items()}


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [(path, method, status) for (path, method), by in SCENARIOS.items() for status in by],
)
def test_each_documented_status_is_returned_with_the_documented_body(
    invoke_calls: Invoke, esms: FakeEsms, path: str, method: str, status: int
) -> None:
    response = SCENARIOS[(path, method)][status](invoke_calls, esms)
    assert response["statusCode"] == status
    documented = DOCUMENT["paths"][path][method]["responses"][str(status)]
    content_type = response["headers"]["Content-Type"]
    schema = documented["content"][content_type]["schema"]
    jsonschema.validate(
        json.loads(response["body"]),
        {**schema, "components": DOCUMENT["components"]},
        cls=jsonschema.Draft202012Validator,
    )
