"""What placing a call costs in DynamoDB requests, and that a callback racing the provider's
answer is never undone by it."""

from __future__ import annotations

import httpx

from tests.support import events
from tests.support.callbacks import appended, callback_event, report_query
from tests.support.dynamodb_requests import counting_requests
from tests.support.fake_esms import body_of

CALL = {"phone": "0912345678", "template_id": "1"}


def test_a_placed_call_costs_three_writes_and_no_read(invoke_calls, esms) -> None:
    # Given a new request
    # When it is placed
    with counting_requests() as requests:
        response = invoke_calls(events.post_calls({**CALL, "request_id": "cost-1"}))
    # Then: claim the request id, record the call, record the outcome; nothing read
    assert response["statusCode"] == 202
    assert requests.by_operation == {"PutItem": 1, "TransactWriteItems": 2}
    assert requests.writes == 3 and requests.reads == 0


def test_a_replay_costs_one_conditional_write_and_no_read(invoke_calls, esms) -> None:
    invoke_calls(events.post_calls({**CALL, "request_id": "cost-2"}))
    with counting_requests() as requests:
        replay = invoke_calls(events.post_calls({**CALL, "request_id": "cost-2"}))
    assert replay["headers"]["Idempotent-Replayed"] == "true"
    # The claim fails and DynamoDB hands back the stored outcome with the refusal.
    assert requests.by_operation == {"PutItem": 1}


def test_a_get_costs_one_read(invoke_calls, esms) -> None:
    call_id = body_of(invoke_calls(events.post_calls(CALL)))["call_id"]
    with counting_requests() as requests:
        invoke_calls(events.get_call(call_id))
    assert requests.by_operation == {"GetItem": 1}


def test_a_callback_faster_than_our_record_of_the_answer_is_not_undone(
    invoke_calls, invoke_callback, esms
) -> None:
    # Given the provider's first callback (SendStatus 2) arrives before its answer is recorded
    sms_id = "5d1f0e7a-race-4c1b-9d2e-000000000001"

    def accept_after_callback(request: httpx.Request) -> httpx.Response:
        callback_url = request.url.params["CallbackUrl"]
        query = report_query(sms_id, send_status=2, CallStatus="")
        assert invoke_callback(callback_event(appended(callback_url, query)))["statusCode"] == 200
        return httpx.Response(200, json={"CodeResult": "100", "SMSID": sms_id})

    esms.then(accept_after_callback)
    # When the call is placed
    placed = invoke_calls(events.post_calls({**CALL, "request_id": "race-1"}))
    # Then the client gets its 202, and the call stays where the callback moved it
    assert placed["statusCode"] == 202
    shown = body_of(invoke_calls(events.get_call(body_of(placed)["call_id"])))
    assert shown["status"] == "WAITING" and shown["sms_id"] == sms_id
    # And the outcome is still stored for replay
    replay = invoke_calls(events.post_calls({**CALL, "request_id": "race-1"}))
    assert replay["headers"]["Idempotent-Replayed"] == "true"
    assert body_of(replay) == body_of(placed)
