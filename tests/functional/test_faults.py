"""Faults at each boundary: the client gets a clear problem answer, the request id is free to
retry, a retry never places a second call, and no accepted call is lost."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.support import events
from tests.support.callbacks import appended, callback_event, report_query
from tests.support.clients import dynamodb_client
from tests.support.dynamodb_requests import dynamodb_fails
from tests.support.fake_esms import accept, body_of, raises, refuse
from tests.support.lambda_context import FakeLambdaContext

CALL = {"phone": "0912345678", "template_id": "1"}


@pytest.mark.parametrize(
    ("operation", "code"),
    [
        ("PutItem", "ProvisionedThroughputExceededException"),
        ("PutItem", "ThrottlingException"),
        ("TransactWriteItems", "ProvisionedThroughputExceededException"),
        ("TransactWriteItems", "TransactionConflictException"),
        ("TransactWriteItems", "InternalServerError"),
    ],
)
def test_storage_faults_before_the_provider_is_asked_are_503_and_retryable(
    invoke_calls, esms, operation: str, code: str
) -> None:
    # Given DynamoDB refuses a write before the call reaches the provider
    request = {**CALL, "request_id": f"fault-{operation}-{code}"[:50]}
    with dynamodb_fails(operation, code) as failed:
        response = invoke_calls(events.post_calls(request))
    # Then the client is told to retry, and the provider was not asked
    assert failed and response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "2"
    assert esms.calls == []
    # And the retry places the call once
    assert invoke_calls(events.post_calls(request))["statusCode"] == 202
    assert len(esms.calls) == 1


def test_a_failure_after_the_provider_accepted_loses_nothing(
    invoke_calls, invoke_callback, esms, tables
) -> None:
    # Given the provider accepts the call but recording its answer fails
    request = {**CALL, "request_id": "fault-after-accept"}
    esms.then(accept, refuse("124"))
    hooks = dynamodb_client().meta.events
    seen: list[int] = []

    def fail_the_second(**_: Any) -> None:
        # The first transaction records the PENDING call; the second records the answer.
        seen.append(1)
        if len(seen) == 2:
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, "TWI")

    hooks.register_first("before-call.dynamodb.TransactWriteItems", fail_the_second)
    try:
        first = invoke_calls(events.post_calls(request))
    finally:
        hooks.unregister("before-call.dynamodb.TransactWriteItems", fail_the_second)
    # Then the client gets a retryable 503, and the call is on record, PENDING
    assert first["statusCode"] == 503
    call_id = esms.calls[0]["CallbackUrl"].split("/")[-2]
    assert body_of(invoke_calls(events.get_call(call_id)))["status"] == "PENDING"
    # When the first invocation's time has run out and the client retries
    dynamodb_client().update_item(
        TableName=tables["DedupeTable"],
        Key={"id": {"S": _claim_id(tables)}},
        UpdateExpression="SET in_progress_expiration = :past",
        ExpressionAttributeValues={":past": {"N": "0"}},
    )
    retry = invoke_calls(events.post_calls(request))
    # Then the provider's 124 tells it the first attempt got through: accepted, same call
    assert retry["statusCode"] == 202 and body_of(retry)["call_id"] == call_id
    assert [c["RequestID"] for c in esms.calls] == ["fault-after-accept"] * 2
    # And the callback settles the call with its SMSID
    sms_id = "a1d5e0c2-1111-4aaa-9bbb-123456789abc"
    url = appended(esms.calls[0]["CallbackUrl"], report_query(sms_id))
    assert invoke_callback(callback_event(url))["statusCode"] == 200
    settled = body_of(invoke_calls(events.get_call(call_id)))
    assert settled["status"] == "COMPLETED" and settled["sms_id"] == sms_id


def _claim_id(tables: dict[str, str]) -> str:
    items = dynamodb_client().scan(TableName=tables["DedupeTable"])["Items"]
    [claim] = [i["id"]["S"] for i in items if i["id"]["S"].startswith("place-call#")]
    return claim


def test_a_provider_slower_than_the_time_left_is_a_504_within_the_deadline(
    invoke_calls, esms
) -> None:
    # Given an invocation with 6 s left and a provider that would take longer
    request = {**CALL, "request_id": "slow-1"}
    budgets: list[float] = []

    def slow(request: httpx.Request) -> httpx.Response:
        budgets.append(request.extensions["timeout"]["read"])
        raise httpx.ReadTimeout("slow", request=request)

    esms.then(slow)
    # When the call is placed
    response = invoke_calls(events.post_calls(request), FakeLambdaContext(timeout_seconds=6))
    # Then the client is answered 504 before the function's deadline: the read timeout was cut
    # to leave time for recording
    assert response["statusCode"] == 504
    assert budgets and budgets[0] <= 3.0
    # When the caller retries with the same request id
    retried = invoke_calls(events.post_calls(request))
    # Then the request id was free: the provider is asked again, with the same RequestID, and
    # the call is accepted
    assert retried["statusCode"] == 202 and "Idempotent-Replayed" not in retried["headers"]
    assert [sent["RequestID"] for sent in esms.calls] == ["slow-1", "slow-1"]


@pytest.mark.parametrize(
    "fault",
    [raises(httpx.ConnectError), raises(httpx.ReadError), raises(httpx.RemoteProtocolError)],
)
def test_a_connection_reset_mid_answer_is_502_and_a_retry_places_one_call(
    invoke_calls, esms, fault
) -> None:
    request = {**CALL, "request_id": "reset-1"}
    esms.then(fault, refuse("124"))
    assert invoke_calls(events.post_calls(request))["statusCode"] == 502
    retried = invoke_calls(events.post_calls(request))
    # The reset may have come after the provider placed the call: its 124 says so
    assert retried["statusCode"] == 202 and body_of(retried)["sms_id"] is None
    assert len(esms.calls) == 2 and esms.calls[0]["RequestID"] == esms.calls[1]["RequestID"]


@pytest.mark.parametrize(
    ("body", "encoded", "content_type", "answer"),
    [
        (b"\xff\xfe{\x00}\x00", True, "application/json", (400, "malformed-json")),
        (
            '{"phone": "０９１２３４５６７８", "template_id": "1"}'.encode(),
            True,
            "application/json",
            (422, "invalid-request"),
        ),
        (
            b'{"phone": "0912345678", "template_id": "1"}',
            True,
            "application/json; charset=utf-8",
            (202, None),
        ),
        (b"\xc3\x28", True, "application/json", (400, "malformed-json")),
        (
            b"phone=0912345678",
            False,
            "application/x-www-form-urlencoded",
            (415, "unsupported-media-type"),
        ),
    ],
    ids=["utf-16", "fullwidth-digits", "charset-parameter", "invalid-utf-8", "form"],
)
def test_odd_encodings_get_their_own_answer(
    invoke_calls, esms, body: bytes, encoded: bool, content_type: str, answer: tuple
) -> None:
    # Given a body in an odd encoding or media type
    event = events.post_calls(
        body if encoded else body.decode(), headers={"Content-Type": content_type}
    )
    # When it is posted
    response = invoke_calls(event)
    # Then only the UTF-8 JSON (its charset named) places a call; every other body gets the
    # problem that names what is wrong with it, and the provider never hears of it
    status, problem = answer
    assert response["statusCode"] == status, response["body"]
    if problem is None:
        assert len(esms.calls) == 1
    else:
        assert response["headers"]["Content-Type"] == "application/problem+json"
        assert body_of(response)["type"] == f"urn:esms-calls:problem:{problem}"
        assert esms.calls == []


@pytest.mark.parametrize(
    "call_id",
    [
        "../calls",
        "%2e%2e%2f",
        "a" * 33,
        "A" * 32,
        "00000000-0000-0000-0000-000000000000",
        "\u0000",
        "' OR 1=1 --",
    ],
)
def test_path_tricks_in_call_id_are_404(invoke_calls, esms, call_id: str) -> None:
    response = invoke_calls(events.get_call(call_id))
    assert response["statusCode"] == 404


@pytest.mark.parametrize(
    "body",
    [
        '{"phone": ' + '{"a": ' * 5000 + "1" + "}" * 5001,
        "[" * 30000 + "]" * 30000,
        '{"phone": "0912345678", "template_id": "1", "max_retry": ' + "9" * 5000 + "}",
    ],
    ids=["deep-object", "deep-array", "huge-integer"],
)
def test_bodies_json_cannot_read_are_400_not_a_crash(invoke_calls, esms, body: str) -> None:
    # Given a body under 64 KiB that Python's JSON parser refuses in ways other than a syntax
    # error (nesting past the recursion limit, an integer past its digit limit)
    # When it is posted
    response = invoke_calls(events.post_calls(body))
    # Then it is a clean problem, and nothing is placed (Python 3.12+ reads the deep object,
    # which then fails validation: 422; 3.11's parser gives up: 400)
    assert response["statusCode"] in (400, 422)
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert esms.calls == []


@pytest.mark.parametrize(
    ("body", "base64_encoded"),
    [("not base64 at all!", True), ('{"phone": "\ud800"}', False)],
    ids=["bad-base64", "lone-surrogate"],
)
def test_a_body_that_is_not_utf8_text_is_400(
    invoke_calls, esms, body: str, base64_encoded: bool
) -> None:
    # Given an event whose body cannot be read as UTF-8 at all
    event = events.post_calls(body)
    event["isBase64Encoded"] = base64_encoded
    # When it is handled
    response = invoke_calls(event)
    # Then it is a clean 400 problem, nothing placed
    assert response["statusCode"] == 400
    assert esms.calls == []
