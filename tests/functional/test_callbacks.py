"""The provider's callbacks, driven through the CallbackFunction handler with real-shaped HTTP API
v2 events built from the provider's example: authenticated, parsed leniently, stored once,
never moving a call backward."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from esms_calls import dependencies
from tests.support import events
from tests.support.callbacks import (
    PROVIDER_EXAMPLE_QUERY,
    appended,
    callback_event,
    filled,
    report_query,
)
from tests.support.clients import dynamodb_client
from tests.support.dynamodb_requests import counting_requests
from tests.support.fake_esms import body_of
from tests.support.metrics import datapoints, emitted

Invoke = Callable[..., dict[str, Any]]


@pytest.fixture
def placed(invoke_calls: Invoke, esms) -> dict[str, str]:
    """A call accepted by the provider: its ids and the CallbackUrl it was handed."""
    body = body_of(invoke_calls(events.post_calls({"phone": "0912345678", "template_id": "1"})))
    return {**body, "callback_url": esms.calls[-1]["CallbackUrl"]}


def record(invoke_calls: Invoke, call_id: str) -> dict[str, Any]:
    return body_of(invoke_calls(events.get_call(call_id)))


def stored_item(tables: dict[str, str], call_id: str) -> dict[str, Any]:
    return (
        dynamodb_client()
        .get_item(TableName=tables["CallsTable"], Key={"call_id": {"S": call_id}})
        .get("Item", {})
    )


@pytest.mark.parametrize(
    "compose",
    [
        pytest.param(lambda url, q: appended(url, q, "&"), id="appended-with-ampersand"),
        pytest.param(lambda url, q: appended(url, q, "?"), id="appended-with-question-mark"),
        pytest.param(filled, id="blanks-filled"),
        pytest.param(lambda url, q: f"{url.partition('?')[0]}?{q}", id="plain-query"),
        pytest.param(lambda url, q: f"{url.partition('?')[0]}&{q}", id="ampersand-after-path"),
    ],
)
def test_each_url_composition_settles_the_call(
    invoke_calls: Invoke, invoke_callback: Invoke, placed: dict[str, str], compose
) -> None:
    # Given an accepted call
    # When the provider reports its final result, composing the URL its own way
    url = compose(placed["callback_url"], report_query(placed["sms_id"]))
    response = invoke_callback(callback_event(url))
    # Then it is answered 200 and the call shows the result
    assert response["statusCode"] == 200
    call = record(invoke_calls, placed["call_id"])
    assert call["status"] == "COMPLETED"
    assert call["result"] == {
        "call_status": "ANSWERED",
        "duration_seconds": 13,
        "ivr": "1",
        "price": "300.0000",
        "sent_result": 1,
        "cid": "02871002454",
        "send_status": 5,
    }
    assert call["callbacks_received"] == 1


def test_a_report_for_another_smsid_is_kept_flagged_not_applied(
    invoke_calls: Invoke, invoke_callback: Invoke, placed: dict[str, str], tables
) -> None:
    # Given an accepted call with a known SMSID
    # When the provider's example callback, for another SMSID, arrives on its URL
    query = PROVIDER_EXAMPLE_QUERY
    response = invoke_callback(callback_event(appended(placed["callback_url"], query)))
    # Then it is answered 200, counted and kept flagged, and the call does not move
    assert response["statusCode"] == 200
    call = record(invoke_calls, placed["call_id"])
    assert call["status"] == "ACCEPTED" and call["callbacks_received"] == 1
    item = stored_item(tables, placed["call_id"])
    assert item["history"]["L"][0]["M"]["flag"]["S"] == "REFERENCE_MISMATCH"


def test_the_example_settles_a_call_whose_smsid_was_unknown(
    invoke_calls: Invoke, invoke_callback: Invoke, esms, tables: dict[str, str]
) -> None:
    # Given a call accepted after a 124 (its SMSID unknown)
    import httpx

    from tests.support.fake_esms import raises, refuse

    esms.then(raises(httpx.ReadTimeout), refuse("124"))
    call = {"phone": "0912345678", "template_id": "1", "request_id": "example-124"}
    invoke_calls(events.post_calls(call))
    accepted = body_of(invoke_calls(events.post_calls(call)))
    assert accepted["sms_id"] is None
    # When the provider's example callback arrives
    url = appended(esms.calls[-1]["CallbackUrl"], PROVIDER_EXAMPLE_QUERY)
    assert invoke_callback(callback_event(url))["statusCode"] == 200
    # Then its ReferenceId becomes the SMSID and the call is completed with an UNKNOWN outcome
    shown = record(invoke_calls, accepted["call_id"])
    assert shown["sms_id"] == "066107ee-6ec4-4283-b595-aa74977c65c5"
    assert shown["status"] == "COMPLETED"
    assert shown["result"]["call_status"] == "UNKNOWN"
    assert shown["result"]["price"] == "0.0000" and shown["result"]["sent_result"] == 0


@pytest.mark.parametrize(
    ("call_status", "expected"),
    [
        ("ANSWERED", "ANSWERED"),
        ("NO ANSWER", "NO_ANSWER"),
        ("NOANSWERED", "NO_ANSWER"),
        ("", "UNKNOWN"),
        ("no answer", "NO_ANSWER"),
    ],
)
def test_call_status_spellings_are_normalised(
    invoke_calls: Invoke,
    invoke_callback: Invoke,
    placed: dict[str, str],
    call_status: str,
    expected: str,
) -> None:
    query = report_query(placed["sms_id"], CallStatus=call_status)
    invoke_callback(callback_event(appended(placed["callback_url"], query)))
    assert record(invoke_calls, placed["call_id"])["result"]["call_status"] == expected


def test_repeated_names_take_the_last_non_empty_value(
    invoke_calls: Invoke, invoke_callback: Invoke, placed: dict[str, str]
) -> None:
    url = (
        placed["callback_url"]
        + "&"
        + report_query(placed["sms_id"], CallDuration="7")
        + "&CallDuration=&Price=12.5000"
    )
    invoke_callback(callback_event(url))
    result = record(invoke_calls, placed["call_id"])["result"]
    assert result["duration_seconds"] == 7 and result["price"] == "12.5000"


def test_a_callback_without_send_status_but_with_an_outcome_is_final(
    invoke_calls: Invoke, invoke_callback: Invoke, placed: dict[str, str]
) -> None:
    query = report_query(placed["sms_id"], send_status=None, CallStatus="NO ANSWER")
    invoke_callback(callback_event(appended(placed["callback_url"], query)))
    call = record(invoke_calls, placed["call_id"])
    assert call["status"] == "COMPLETED" and call["result"]["send_status"] is None


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(
            lambda url: url.replace("/callbacks/esms/", "/callbacks/esms/0").replace("/", "/", 1),
            id="other-call",
        ),
        pytest.param(
            lambda url: url.rsplit("/", 1)[0] + "/AAAA" + "?" + url.partition("?")[2],
            id="bad-token",
        ),
        pytest.param(
            lambda url: url.rsplit("/", 1)[0] + "/?" + url.partition("?")[2], id="empty-token"
        ),
    ],
)
def test_a_bad_or_missing_token_is_403_and_stores_nothing(
    invoke_calls: Invoke, invoke_callback: Invoke, placed: dict[str, str], tables, tamper
) -> None:
    before = stored_item(tables, placed["call_id"])
    url = tamper(appended(placed["callback_url"], report_query(placed["sms_id"])))
    with counting_requests() as requests:
        response = invoke_callback(callback_event(url))
    assert response["statusCode"] == 403
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert requests.writes == 0
    assert stored_item(tables, placed["call_id"]) == before


def test_a_callback_under_the_public_base_urls_path_is_stored(
    invoke_calls: Invoke, invoke_callback: Invoke, esms, tables, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a custom domain whose API mapping puts the API under /voice/v1
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://api.example.test/voice/v1")
    dependencies.reset()
    body = body_of(invoke_calls(events.post_calls({"phone": "0912345678", "template_id": "1"})))
    callback_url = esms.calls[-1]["CallbackUrl"]
    assert callback_url.startswith("https://api.example.test/voice/v1/callbacks/esms/")
    # When the provider calls that URL (API Gateway keeps the base path in rawPath), and a copy
    # arrives under another base path
    query = report_query(body["sms_id"])
    elsewhere = callback_url.replace("/voice/v1/", "/voice/v2/")
    stray = invoke_callback(callback_event(appended(elsewhere, query)))
    response = invoke_callback(callback_event(appended(callback_url, query)))
    # Then the callback is stored and settles the call; the stray copy is refused
    assert response["statusCode"] == 200
    assert stray["statusCode"] == 403
    call = record(invoke_calls, body["call_id"])
    assert call["status"] == "COMPLETED" and call["callbacks_received"] == 1


def test_six_repeats_of_one_callback_are_stored_once(
    invoke_calls: Invoke, invoke_callback: Invoke, placed: dict[str, str]
) -> None:
    url = appended(placed["callback_url"], report_query(placed["sms_id"]))
    answers = [invoke_callback(callback_event(url))["statusCode"] for _ in range(6)]
    assert answers == [200] * 6
    assert record(invoke_calls, placed["call_id"])["callbacks_received"] == 1


def test_concurrent_repeats_are_stored_once(
    invoke_calls: Invoke, invoke_callback: Invoke, placed: dict[str, str], tables
) -> None:
    # Given the same callback arriving eight times at once
    url = appended(placed["callback_url"], report_query(placed["sms_id"], send_status=7))
    barrier = threading.Barrier(8)
    answers: list[int] = []

    def deliver() -> None:
        barrier.wait()
        answers.append(invoke_callback(callback_event(url))["statusCode"])

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then all are answered 200 and it is stored once
    assert answers == [200] * 8
    assert record(invoke_calls, placed["call_id"])["callbacks_received"] == 1
    assert len(stored_item(tables, placed["call_id"])["history"]["L"]) == 1


def test_out_of_order_callbacks_never_move_the_call_back(
    invoke_calls: Invoke, invoke_callback: Invoke, placed: dict[str, str], tables
) -> None:
    # Given the final callback (5) arrives before the intermediate one (7)
    final = appended(placed["callback_url"], report_query(placed["sms_id"], send_status=5))
    late = appended(
        placed["callback_url"], report_query(placed["sms_id"], send_status=7, CallStatus="")
    )
    invoke_callback(callback_event(final))
    assert invoke_callback(callback_event(late))["statusCode"] == 200
    # Then the call stays COMPLETED with the final result, and the late one is kept in history
    call = record(invoke_calls, placed["call_id"])
    assert call["status"] == "COMPLETED" and call["result"]["send_status"] == 5
    assert call["callbacks_received"] == 2
    history = stored_item(tables, placed["call_id"])["history"]["L"]
    assert [h["M"]["raw"]["M"]["SendStatus"]["S"] for h in history] == ["5", "7"]
    assert history[1]["M"]["flag"]["S"] == "OUT_OF_ORDER"


def test_the_first_final_result_stands(
    invoke_calls: Invoke, invoke_callback: Invoke, placed: dict[str, str], tables
) -> None:
    first = appended(placed["callback_url"], report_query(placed["sms_id"]))
    other = appended(placed["callback_url"], report_query(placed["sms_id"], CallStatus="NO ANSWER"))
    invoke_callback(callback_event(first))
    invoke_callback(callback_event(other))
    call = record(invoke_calls, placed["call_id"])
    assert call["result"]["call_status"] == "ANSWERED" and call["callbacks_received"] == 2
    assert (
        stored_item(tables, placed["call_id"])["history"]["L"][1]["M"]["flag"]["S"] == "LATER_FINAL"
    )


def test_the_progression_2_7_5_counts_three_callbacks(
    invoke_calls: Invoke, invoke_callback: Invoke, placed: dict[str, str]
) -> None:
    for send_status, call_status in ((2, ""), (7, ""), (5, "ANSWERED")):
        query = report_query(placed["sms_id"], send_status=send_status, CallStatus=call_status)
        invoke_callback(callback_event(appended(placed["callback_url"], query)))
        expected = {2: "WAITING", 7: "REPORT_PENDING", 5: "COMPLETED"}[send_status]
        assert record(invoke_calls, placed["call_id"])["status"] == expected
    assert record(invoke_calls, placed["call_id"])["callbacks_received"] == 3


@pytest.mark.parametrize(
    "odd", [{"CallDuration": "abc"}, {"SendStatus": "9"}, {"Price": "free"}, {"CallStatus": "BUSY"}]
)
def test_values_that_do_not_parse_are_kept_raw_and_flagged(
    invoke_calls: Invoke, invoke_callback: Invoke, placed: dict[str, str], tables, odd
) -> None:
    query = report_query(placed["sms_id"], **odd)
    response = invoke_callback(callback_event(appended(placed["callback_url"], query)))
    assert response["statusCode"] == 200
    call = record(invoke_calls, placed["call_id"])
    assert call["status"] == "ACCEPTED" and call["callbacks_received"] == 1
    entry = stored_item(tables, placed["call_id"])["history"]["L"][0]["M"]
    assert entry["flag"]["S"] == "ODD_VALUES"
    name, value = next(iter(odd.items()))
    assert entry["raw"]["M"][name]["S"] == value


def test_a_callback_for_an_unknown_call_is_kept_and_answered_200(
    invoke_callback: Invoke, tables, esms
) -> None:
    # Given a valid token for a call id we have no record of
    from esms_calls.domain.signing import callback_url
    from tests.functional.conftest import PUBLIC_BASE_URL, SIGNING_KEY

    call_id = "ab" * 16
    url = appended(
        callback_url(PUBLIC_BASE_URL, SIGNING_KEY.encode(), call_id), report_query("x-1")
    )
    # When the callback arrives, twice
    assert invoke_callback(callback_event(url))["statusCode"] == 200
    assert invoke_callback(callback_event(url))["statusCode"] == 200
    # Then it is kept raw, flagged, once
    orphans = dynamodb_client().scan(
        TableName=tables["CallsTable"],
        FilterExpression="orphan_of = :id",
        ExpressionAttributeValues={":id": {"S": call_id}},
    )["Items"]
    assert len(orphans) == 1 and orphans[0]["flag"]["S"] == "UNKNOWN_CALL"
    assert orphans[0]["report"]["M"]["raw"]["M"]["ReferenceId"]["S"] == "x-1"


def test_a_storage_failure_answers_5xx_then_the_resent_callback_is_stored_once(
    invoke_calls: Invoke, invoke_callback: Invoke, placed: dict[str, str], tables, capsys
) -> None:
    # Given DynamoDB fails the next write
    url = appended(placed["callback_url"], report_query(placed["sms_id"]))
    before = stored_item(tables, placed["call_id"])
    events_ = dynamodb_client().meta.events

    def fail(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "InternalServerError", "Message": "boom"}}, "UpdateItem"
        )

    events_.register_first("before-call.dynamodb.UpdateItem", fail)
    try:
        failed = invoke_callback(callback_event(url))
    finally:
        events_.unregister("before-call.dynamodb.UpdateItem", fail)
    # Then the provider is told to send it again, nothing was written, and it was counted
    assert failed["statusCode"] == 503
    assert stored_item(tables, placed["call_id"]) == before
    assert emitted(capsys.readouterr().out)["CallbacksNotStored"] == [1.0]
    # When it re-sends, twice
    assert invoke_callback(callback_event(url))["statusCode"] == 200
    assert invoke_callback(callback_event(url))["statusCode"] == 200
    # Then it is stored once
    call = record(invoke_calls, placed["call_id"])
    assert call["status"] == "COMPLETED" and call["callbacks_received"] == 1


def test_one_write_request_per_callback(invoke_callback: Invoke, placed: dict[str, str]) -> None:
    # Given the progression 2, 7, 5 and a duplicate of each
    counts = []
    for send_status in (2, 7, 5, 2, 7, 5):
        url = appended(
            placed["callback_url"], report_query(placed["sms_id"], send_status=send_status)
        )
        with counting_requests() as requests:
            invoke_callback(callback_event(url))
        counts.append((requests.writes, requests.reads))
    # Then each in-order callback and each duplicate costs one write request and no read
    assert counts == [(1, 0)] * 6


def test_the_final_callback_publishes_the_outcome_and_the_time_since_placement(
    invoke_callback: Invoke, placed: dict[str, str], capsys
) -> None:
    # Given a placed call, when its callbacks come: ringing, then answered, then that again
    ringing = appended(placed["callback_url"], report_query(placed["sms_id"], send_status=2))
    final = appended(placed["callback_url"], report_query(placed["sms_id"]))
    capsys.readouterr()
    for url in (ringing, final, final):
        assert invoke_callback(callback_event(url))["statusCode"] == 200

    # Then the outcome is counted once, split by outcome, with one time since placement
    points = datapoints(capsys.readouterr().out)
    finished = [p for p in points if p.name == "CallsFinished"]
    assert [(p.dimensions, p.values) for p in finished] == [
        ({"service": "esms-calls", "outcome": "ANSWERED"}, [1.0])
    ]
    (time_to_final,) = [p for p in points if p.name == "TimeToFinalStatus"]
    assert time_to_final.unit == "Seconds" and time_to_final.dimensions == {"service": "esms-calls"}
    assert len(time_to_final.values) == 1 and 0 <= time_to_final.values[0] < 3600
