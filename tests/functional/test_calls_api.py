"""`POST /calls` and `GET /calls/{call_id}`: every row of the contract's answers table, driven
through the CallsFunction handler with real-shaped HTTP API v2 events."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from esms_calls.domain.signing import callback_token
from esms_calls.usecases import place_call
from tests.functional.conftest import PUBLIC_BASE_URL, SIGNING_KEY
from tests.support import events
from tests.support.fake_esms import FakeEsms, body_of, raises, refuse, status

CALL = {"phone": "+84 912 345 678", "template_id": "123"}


def new_id() -> str:
    import uuid

    return f"test-{uuid.uuid4().hex[:12]}"


def problem_of(response: dict) -> dict:
    assert response["headers"]["Content-Type"] == "application/problem+json"
    problem = body_of(response)
    assert {"type", "title", "status", "detail"} <= problem.keys()
    assert problem["status"] == response["statusCode"]
    return problem


def test_an_accepted_call_answers_202_with_its_ids(invoke_calls, esms: FakeEsms) -> None:
    # Given a valid request with a request id
    request_id = new_id()
    # When it is posted
    response = invoke_calls(events.post_calls({**CALL, "request_id": request_id}))
    # Then the provider was asked once, in its own terms, and the call is accepted
    assert response["statusCode"] == 202
    body = body_of(response)
    assert body["request_id"] == request_id and body["status"] == "ACCEPTED"
    assert response["headers"]["Location"] == f"/calls/{body['call_id']}"
    assert "Idempotent-Replayed" not in response["headers"]
    [sent] = esms.calls
    assert sent["Phone"] == "0912345678" and sent["TemplateId"] == "123"
    assert sent["RequestID"] == request_id
    token = callback_token(SIGNING_KEY.encode(), body["call_id"])
    assert sent["CallbackUrl"].startswith(
        f"{PUBLIC_BASE_URL}/callbacks/esms/{body['call_id']}/{token}?ReferenceId=&"
    )
    # And the record shows it with the provider's id
    record = body_of(invoke_calls(events.get_call(body["call_id"])))
    assert record["status"] == "ACCEPTED" and record["sms_id"] == body["sms_id"]
    assert record["phone"] == "0912345678" and record["callbacks_received"] == 0


def test_a_request_without_id_gets_one_and_the_provider_gets_it_too(invoke_calls, esms) -> None:
    response = invoke_calls(events.post_calls(CALL))
    assert response["statusCode"] == 202
    assert esms.calls[0]["RequestID"] == body_of(response)["request_id"]


def test_the_idempotency_key_header_is_the_request_id(invoke_calls, esms) -> None:
    request_id = new_id()
    response = invoke_calls(events.post_calls(CALL, headers={"Idempotency-Key": request_id}))
    assert body_of(response)["request_id"] == request_id == esms.calls[0]["RequestID"]


def test_a_replay_answers_the_original_without_a_second_call(invoke_calls, esms) -> None:
    # Given an accepted call
    request_id = new_id()
    first = invoke_calls(events.post_calls({**CALL, "request_id": request_id}))
    # When the same request comes again, spelled differently but the same call
    again = invoke_calls(
        events.post_calls(
            {"Phone": "0912345678", "TemplateId": "123"}, headers={"Idempotency-Key": request_id}
        )
    )
    # Then it gets the original answer, marked as replayed, and the provider heard of it once
    assert again["statusCode"] == 202
    assert body_of(again) == body_of(first)
    assert again["headers"]["Idempotent-Replayed"] == "true"
    assert again["headers"]["Location"] == first["headers"]["Location"]
    assert len(esms.calls) == 1


def test_the_same_request_id_with_another_payload_is_422(invoke_calls, esms) -> None:
    request_id = new_id()
    invoke_calls(events.post_calls({**CALL, "request_id": request_id}))
    other = invoke_calls(
        events.post_calls({**CALL, "template_id": "999", "request_id": request_id})
    )
    assert other["statusCode"] == 422
    assert problem_of(other)["type"].endswith("request-id-reused")
    assert len(esms.calls) == 1


def test_a_duplicate_while_the_first_is_in_flight_is_409(invoke_calls, esms) -> None:
    # Given a request whose provider call is still under way
    request_id = new_id()
    seen: dict[str, dict] = {}

    def while_in_flight(_request: httpx.Request) -> None:
        if "duplicate" not in seen:
            seen["duplicate"] = {}
            seen["duplicate"] = invoke_calls(events.post_calls({**CALL, "request_id": request_id}))

    esms.on_request = while_in_flight
    # When the same request arrives meanwhile
    first = invoke_calls(events.post_calls({**CALL, "request_id": request_id}))
    # Then the duplicate is told to retry later, and only one call was placed
    duplicate = seen["duplicate"]
    assert first["statusCode"] == 202
    assert duplicate["statusCode"] == 409
    assert problem_of(duplicate)["type"].endswith("request-in-progress")
    assert duplicate["headers"]["Retry-After"] == "1"
    assert len(esms.calls) == 1


def test_header_and_body_request_ids_must_agree(invoke_calls, esms) -> None:
    response = invoke_calls(
        events.post_calls({**CALL, "request_id": new_id()}, headers={"Idempotency-Key": new_id()})
    )
    assert response["statusCode"] == 422
    assert problem_of(response)["errors"] == [
        {"field": "request_id", "message": "differs from the Idempotency-Key header"}
    ]
    assert esms.calls == []


@pytest.mark.parametrize("body", ["{not json", "", "\x00\x01"])
def test_a_body_that_is_not_json_is_400(invoke_calls, esms, body: str) -> None:
    response = invoke_calls(events.post_calls(body))
    assert response["statusCode"] == 400
    assert problem_of(response)["type"].endswith("malformed-json")
    assert esms.calls == []


def test_invalid_fields_are_422_and_every_one_is_listed(invoke_calls, esms) -> None:
    response = invoke_calls(
        events.post_calls(
            {"phone": "12345", "template_id": "", "max_retry": 99, "Ivr": "x", "NumberForward": "1"}
        )
    )
    assert response["statusCode"] == 422
    fields = {error["field"] for error in problem_of(response)["errors"]}
    assert fields == {"phone", "template_id", "max_retry", "ivr", "number_forward"}
    assert esms.calls == []


@pytest.mark.parametrize("body", [[CALL], '"0912345678"', 42, {"calls": [CALL]}])
def test_json_of_the_wrong_shape_is_422(invoke_calls, esms, body) -> None:
    response = invoke_calls(events.post_calls(body if not isinstance(body, int) else str(body)))
    assert response["statusCode"] == 422
    assert problem_of(response)["errors"]


def test_a_bad_idempotency_key_header_is_422(invoke_calls, esms) -> None:
    response = invoke_calls(
        events.post_calls(CALL, headers={"Idempotency-Key": "no spaces allowed"})
    )
    assert response["statusCode"] == 422
    assert problem_of(response)["errors"][0]["field"] == "Idempotency-Key"


def test_a_body_over_64_kib_is_413(invoke_calls, esms) -> None:
    response = invoke_calls(events.post_calls({**CALL, "padding": "x" * 70_000}))
    assert response["statusCode"] == 413
    assert problem_of(response)["type"].endswith("body-too-large")


def test_our_own_422_is_not_stored_so_the_id_can_be_reused(invoke_calls, esms) -> None:
    request_id = new_id()
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    refused = invoke_calls(events.post_calls({**CALL, "request_id": request_id, "send_at": past}))
    assert refused["statusCode"] == 422
    assert problem_of(refused)["errors"][0]["field"] == "send_at"
    corrected = invoke_calls(events.post_calls({**CALL, "request_id": request_id}))
    assert corrected["statusCode"] == 202


@pytest.mark.parametrize("code", ["99", "104", "106", "108", "120"])
def test_a_refusal_for_a_reason_in_the_request_is_422_and_replayed(
    invoke_calls, esms, code
) -> None:
    # Given the provider refuses the request for something in it
    esms.then(refuse(code, "provider says no"))
    request_id = new_id()
    # When the call is posted, and posted again
    first = invoke_calls(events.post_calls({**CALL, "request_id": request_id}))
    again = invoke_calls(events.post_calls({**CALL, "request_id": request_id}))
    # Then both get 422 with the provider's code, and the provider was asked once
    assert first["statusCode"] == again["statusCode"] == 422
    assert problem_of(first)["esms_code"] == code
    assert body_of(again) == body_of(first) and again["headers"]["Idempotent-Replayed"] == "true"
    assert len(esms.calls) == 1
    # And the call is recorded as FAILED with the code
    record = body_of(invoke_calls(events.get_call(first["headers"]["Location"].rsplit("/", 1)[1])))
    assert record["status"] == "FAILED" and record["esms_code"] == code


@pytest.mark.parametrize("code", ["101", "102", "103", "140", "777"])
def test_a_refusal_for_account_reasons_is_502(invoke_calls, esms, code) -> None:
    esms.then(refuse(code, "Tài khoản bị khóa"))
    response = invoke_calls(events.post_calls(CALL))
    assert response["statusCode"] == 502
    problem = problem_of(response)
    assert problem["esms_code"] == code
    if code == "777":
        assert "Tài khoản bị khóa" in problem["detail"]


@pytest.mark.parametrize("code", ["124", "199"])
def test_duplicate_with_no_earlier_attempt_of_ours_is_409(invoke_calls, esms, code) -> None:
    esms.then(refuse(code))
    request_id = new_id()
    first = invoke_calls(events.post_calls({**CALL, "request_id": request_id}))
    again = invoke_calls(events.post_calls({**CALL, "request_id": request_id}))
    assert first["statusCode"] == again["statusCode"] == 409
    assert problem_of(first)["esms_code"] == code
    assert again["headers"]["Idempotent-Replayed"] == "true"
    assert len(esms.calls) == 1


@pytest.mark.parametrize("code", ["124", "199"])
def test_duplicate_after_our_unanswered_attempt_means_accepted(invoke_calls, esms, code) -> None:
    # Given a first attempt that timed out (it did reach the provider)
    esms.then(raises(httpx.ReadTimeout), refuse(code))
    request_id = new_id()
    first = invoke_calls(events.post_calls({**CALL, "request_id": request_id}))
    assert first["statusCode"] == 504
    # When the client retries and the provider says it already has this RequestID
    retry = invoke_calls(events.post_calls({**CALL, "request_id": request_id}))
    # Then the call is accepted, its SMSID still unknown, on the same call record and CallbackUrl
    assert retry["statusCode"] == 202
    body = body_of(retry)
    assert body["status"] == "ACCEPTED" and body["sms_id"] is None
    assert esms.calls[0]["CallbackUrl"] == esms.calls[1]["CallbackUrl"]
    assert body["call_id"] in esms.calls[1]["CallbackUrl"]


@pytest.mark.parametrize(
    "fault",
    [
        raises(httpx.ConnectError),
        raises(httpx.RemoteProtocolError),
        status(503, "busy"),
        status(200, "<html><body>Service Unavailable</body></html>"),
        status(200, '{"CodeRes'),
    ],
)
def test_provider_unreachable_or_garbage_is_502_and_the_id_is_released(
    invoke_calls, esms, fault
) -> None:
    # Given the provider fails once
    esms.then(fault)
    request_id = new_id()
    failed = invoke_calls(events.post_calls({**CALL, "request_id": request_id}))
    # Then the client is told to retry later
    assert failed["statusCode"] == 502
    assert failed["headers"]["Retry-After"] == "5"
    assert problem_of(failed)["type"].endswith("provider-unavailable")
    # And a retry with the same id goes through on the same call record
    retried = invoke_calls(events.post_calls({**CALL, "request_id": request_id}))
    assert retried["statusCode"] == 202
    assert esms.calls[0]["CallbackUrl"] == esms.calls[1]["CallbackUrl"]


def test_a_provider_timeout_is_504_and_the_call_stays_pending(invoke_calls, esms) -> None:
    esms.then(raises(httpx.ReadTimeout))
    request_id = new_id()
    response = invoke_calls(events.post_calls({**CALL, "request_id": request_id}))
    assert response["statusCode"] == 504
    assert response["headers"]["Retry-After"] == "5"
    call_id = esms.calls[0]["CallbackUrl"].split("/")[-2]
    record = body_of(invoke_calls(events.get_call(call_id)))
    assert record["status"] == "PENDING" and record["request_id"] == request_id


def test_a_released_id_stays_bound_to_its_payload(invoke_calls, esms) -> None:
    esms.then(raises(httpx.ReadTimeout))
    request_id = new_id()
    invoke_calls(events.post_calls({**CALL, "request_id": request_id}))
    other = invoke_calls(
        events.post_calls({**CALL, "template_id": "999", "request_id": request_id})
    )
    assert other["statusCode"] == 422
    assert len(esms.calls) == 1


def test_a_replayed_scheduled_call_keeps_its_answer_after_its_time_passed(
    invoke_calls, esms, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a call scheduled a moment ahead, accepted
    monkeypatch.setattr(place_call, "_SEND_AT_GRACE", timedelta(0))
    request_id = new_id()
    # (a whole second: the provider's format drops the fraction, which would shorten the lead)
    moment = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
    send_at = moment.isoformat()
    first = invoke_calls(events.post_calls({**CALL, "request_id": request_id, "send_at": send_at}))
    assert first["statusCode"] == 202
    # When its time has passed and the request is replayed
    threading.Event().wait(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.2)
    again = invoke_calls(events.post_calls({**CALL, "request_id": request_id, "send_at": send_at}))
    # Then the original answer comes back, while a new request for that time is refused
    assert again["statusCode"] == 202 and again["headers"]["Idempotent-Replayed"] == "true"
    late = invoke_calls(events.post_calls({**CALL, "send_at": send_at}))
    assert late["statusCode"] == 422


def test_too_little_time_left_does_not_call_the_provider(invoke_calls, esms) -> None:
    from tests.support.lambda_context import FakeLambdaContext

    response = invoke_calls(events.post_calls(CALL), FakeLambdaContext(timeout_seconds=3.5))
    assert response["statusCode"] == 504
    assert esms.calls == []


@pytest.mark.parametrize("call_id", ["0" * 32, "..%2F..%2Fetc", "ABC", "x" * 500])
def test_an_unknown_call_is_404(invoke_calls, esms, call_id: str) -> None:
    response = invoke_calls(events.get_call(call_id))
    assert response["statusCode"] == 404
    assert problem_of(response)["type"].endswith("not-found")


def test_an_unknown_route_is_a_404_problem(invoke_calls, esms) -> None:
    # Given a path CallsFunction has no route for
    event = events.http_event("GET", "/nowhere", route_key="$default")
    # When it reaches the function
    response = invoke_calls(event)
    # Then the answer is the not-found problem, and the provider is not asked
    assert response["statusCode"] == 404
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert problem_of(response)["type"] == "urn:esms-calls:problem:not-found"
    assert esms.calls == []


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_a_form_post_is_415_naming_the_fix(invoke_calls, esms, content_type: str) -> None:
    # Given `curl -d '{...}'` without a Content-Type header (curl says it is a form)
    event = events.post_calls(CALL, headers={"Content-Type": content_type})
    # When it is posted
    response = invoke_calls(event)
    # Then the answer says what to send instead
    assert response["statusCode"] == 415
    assert "Content-Type: application/json" in problem_of(response)["detail"]
    assert esms.calls == []


def test_log_keys_of_one_request_do_not_stick_to_the_next(invoke_calls, esms, capfd) -> None:
    import io
    import logging

    from esms_calls.observability import logger

    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    try:
        invoke_calls(events.post_calls({**CALL, "request_id": "sticky-1"}))
        invoke_calls(events.post_calls({"phone": "1", "template_id": "1"}))
        logger.info("after")
    finally:
        logger.removeHandler(handler)
    last = json.loads(captured.getvalue().strip().splitlines()[-1])
    assert last["message"] == "after" and "call_id" not in last and "request_id" not in last


@pytest.mark.parametrize(("method", "path", "route_key", "allowed"), [
    ("PUT", "/calls", "ANY /calls", "GET, POST"),
    ("DELETE", "/calls/abc", "ANY /calls/{call_id}", "GET"),
    ("TRACE", "/calls", "ANY /calls", "GET, POST"),
    ("GET", "/batches", "ANY /batches", "POST"),
    ("PATCH", "/batches/b-1", "ANY /batches/{batch_id}", "GET"),
    ("DELETE", "/batches/b-1/calls", "ANY /batches/{batch_id}/calls", "GET"),
])  # fmt: skip
def test_another_method_on_a_served_path_is_405_naming_the_ones_served(
    invoke_calls, esms: FakeEsms, method: str, path: str, route_key: str, allowed: str
) -> None:
    # Given the template's catch-all route for a calls or batches path
    # When the gateway hands the function a method that path does not serve
    response = invoke_calls(events.http_event(method, path, route_key=route_key, body="{}"))

    # Then it answers 405 with Allow, and the provider is never called
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == allowed
    assert problem_of(response)["title"] == "Method Not Allowed"
    assert esms.calls == []


def test_a_refusal_names_the_refused_call_in_its_body(invoke_calls, esms: FakeEsms) -> None:
    # Given the provider refuses the number
    esms.then(refuse("108"))
    # When the call is placed
    response = invoke_calls(events.post_calls({**CALL, "request_id": new_id()}))
    # Then the problem carries the call's id, as the Location header does
    problem = problem_of(response)
    assert response["statusCode"] == 422 and problem["esms_code"] == "108"
    assert response["headers"]["Location"] == f"/calls/{problem['call_id']}"
