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

from esms_calls.api.openapi import openapi_json
from tests.support import events
from tests.support.dynamodb_requests import dynamodb_fails
from tests.support.fake_esms import FakeEsms, body_of, raises, refuse

DOCUMENT_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
DOCUMENT = json.loads(DOCUMENT_PATH.read_text())
CALL = {"phone": "0912345678", "template_id": "1"}

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


def test_the_committed_document_is_the_generated_one() -> None:
    assert DOCUMENT_PATH.read_text() == openapi_json(), (
        "run `make openapi` and commit docs/openapi.json"
    )


def _failing_storage(event: dict[str, Any]) -> Callable[[Invoke, FakeEsms], dict[str, Any]]:
    """The scenario of `event` answered while DynamoDB fails every PutItem."""

    def scenario(invoke: Invoke, _esms: FakeEsms) -> dict[str, Any]:
        with dynamodb_fails("PutItem", "InternalServerError", times=10):
            return invoke(event)

    return scenario


BATCH = {"calls": ["0912345678", "0987654321"], "defaults": {"template_id": "1"}}


def _posted_batch(invoke: Invoke) -> str:
    return str(body_of(invoke(events.post_batches(BATCH)))["batch_id"])


def _accepted_then_get(invoke: Invoke, _esms: FakeEsms) -> dict[str, Any]:
    call_id = body_of(invoke(events.post_calls(CALL)))["call_id"]
    return invoke(events.get_call(call_id))


LISTED = "0912345678"


def _do_not_call(method: str, phone: str = LISTED, body: Any = None, **headers: str) -> dict:
    return events.http_event(
        method,
        f"/do-not-call/{phone}",
        route_key=f"{method} /do-not-call/{{phone}}",
        body=body,
        headers={"Content-Type": "application/json", **headers} if body is not None else None,
        path_parameters={"phone": phone},
    )


def _listed_then(method: str) -> Callable[[Invoke, FakeEsms], dict[str, Any]]:
    def scenario(invoke: Invoke, _esms: FakeEsms) -> dict[str, Any]:
        invoke(_do_not_call("PUT", body={"reason": "asked"}))
        return invoke(_do_not_call(method, body={"reason": "again"} if method == "PUT" else None))

    return scenario


def _failing(operation: str, event: dict[str, Any]) -> Callable[[Invoke, FakeEsms], dict[str, Any]]:
    def scenario(invoke: Invoke, _esms: FakeEsms) -> dict[str, Any]:
        with dynamodb_fails(operation, "InternalServerError", times=10):
            return invoke(event)

    return scenario


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
        503: _failing_storage(events.post_calls(CALL)),
        504: lambda invoke, esms: (
            esms.then(raises(httpx.ReadTimeout)),
            invoke(events.post_calls(CALL)),
        )[1],
    },
    ("/calls/{call_id}", "get"): {
        200: _accepted_then_get,
        404: lambda invoke, esms: invoke(events.get_call("f" * 32)),
    },
    ("/calls", "get"): {
        200: lambda invoke, esms: (invoke(events.post_calls(CALL)), invoke(events.list_calls()))[1],
        400: lambda invoke, esms: invoke(events.list_calls({"cursor": "forged.cursor"})),
        422: lambda invoke, esms: invoke(events.list_calls({"limit": "1000"})),
    },
    ("/batches", "post"): {
        202: lambda invoke, esms: invoke(events.post_batches(BATCH)),
        400: lambda invoke, esms: invoke(events.post_batches("{")),
        413: lambda invoke, esms: invoke(events.post_batches("x" * (5 * 1024 * 1024 + 1))),
        415: lambda invoke, esms: invoke(
            events.post_batches("calls=0912345678", headers={"Content-Type": "text/plain"})
        ),
        422: lambda invoke, esms: invoke(events.post_batches({"calls": []})),
        503: _failing_storage(events.post_batches(BATCH)),
    },
    ("/batches/{batch_id}", "get"): {
        200: lambda invoke, esms: invoke(events.get_batch(_posted_batch(invoke))),
        404: lambda invoke, esms: invoke(events.get_batch("no-such-batch")),
    },
    ("/batches/{batch_id}/calls", "get"): {
        200: lambda invoke, esms: invoke(events.list_batch_calls(_posted_batch(invoke))),
        400: lambda invoke, esms: invoke(
            events.list_batch_calls(_posted_batch(invoke), {"cursor": "forged.cursor"})
        ),
        404: lambda invoke, esms: invoke(events.list_batch_calls("no-such-batch")),
        422: lambda invoke, esms: invoke(
            events.list_batch_calls(_posted_batch(invoke), {"status": "LOST"})
        ),
    },
    ("/do-not-call/{phone}", "put"): {
        200: _listed_then("PUT"),
        201: lambda invoke, esms: invoke(_do_not_call("PUT", body={"reason": "asked"})),
        400: lambda invoke, esms: invoke(_do_not_call("PUT", body="{")),
        415: lambda invoke, esms: invoke(
            _do_not_call("PUT", body="reason=asked", **{"Content-Type": "text/plain"})
        ),
        422: lambda invoke, esms: invoke(_do_not_call("PUT", body={"why": "asked"})),
        503: _failing("PutItem", _do_not_call("PUT", body={})),
    },
    ("/do-not-call/{phone}", "get"): {
        200: _listed_then("GET"),
        404: lambda invoke, esms: invoke(_do_not_call("GET")),
        422: lambda invoke, esms: invoke(_do_not_call("GET", "12345")),
        503: _failing("GetItem", _do_not_call("GET")),
    },
    ("/do-not-call/{phone}", "delete"): {
        204: _listed_then("DELETE"),
        404: lambda invoke, esms: invoke(_do_not_call("DELETE")),
        422: lambda invoke, esms: invoke(_do_not_call("DELETE", "12345")),
        503: _failing("DeleteItem", _do_not_call("DELETE")),
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
    invoke_calls: Invoke, esms: FakeEsms, calls_queue: Any, path: str, method: str, status: int
) -> None:
    response = SCENARIOS[(path, method)][status](invoke_calls, esms)
    assert response["statusCode"] == status
    documented = DOCUMENT["paths"][path][method]["responses"][str(status)]
    if status == 204:
        assert "content" not in documented and not response["body"]
        return
    content_type = response["headers"]["Content-Type"]
    schema = documented["content"][content_type]["schema"]
    jsonschema.validate(
        json.loads(response["body"]),
        {**schema, "components": DOCUMENT["components"]},
        cls=jsonschema.Draft202012Validator,
    )
