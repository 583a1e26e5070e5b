"""The calling rules through CallsFunction's handler with moto: advertising hours at their
edges (a frozen clock), the frequency cap under concurrency, the do-not-call list and its
routes, batches' skipped entries, and no whole listed number in any stored item or log line."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest
import time_machine

from esms_calls import dependencies
from esms_calls.domain.send_date import VIETNAM
from tests.support import events
from tests.support.callbacks import appended, callback_event, report_query
from tests.support.clients import dynamodb_client
from tests.support.dynamodb_requests import counting_requests
from tests.support.fake_esms import FakeEsms, body_of, refuse
from tests.support.lambda_context import FakeLambdaContext
from tests.support.metrics import emitted
from tests.support.queues import CallsQueue, drain
from tests.support.triggers import rule_event

Invoke = Any
PROBLEM = "urn:esms-calls:problem:"


def vietnam(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, second, tzinfo=VIETNAM)


def new_phone() -> str:
    return f"09{uuid.uuid4().int % 10**8:08d}"


def advert(phone: str, **fields: Any) -> dict[str, Any]:
    return {
        "phone": phone,
        "template_id": "promo-1",
        "purpose": "advertising",
        "request_id": uuid.uuid4().hex,
        **fields,
    }


def post_call(invoke_calls: Invoke, body: dict[str, Any]) -> dict[str, Any]:
    return invoke_calls(events.post_calls(body))


def do_not_call(method: str, phone: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return events.http_event(
        method,
        f"/do-not-call/{phone}",
        route_key=f"{method} /do-not-call/{{phone}}",
        body=body,
        headers={"content-type": "application/json"} if body is not None else None,
        path_parameters={"phone": phone},
    )


@pytest.fixture
def frozen() -> Iterator[Any]:
    """A clock that stands still where a test moves it."""
    with time_machine.travel(vietnam(2, 10), tick=False) as traveller:
        yield traveller


def settings(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    dependencies.reset()


# -- Advertising hours ---------------------------------------------------------------------------

EDGES = [
    # (the moment in Vietnam, when the call rings: None = at once)
    (vietnam(2, 7, 59, 59), "2026/12/02 08:00:00"),
    (vietnam(2, 8, 0, 0), None),
    (vietnam(2, 16, 59, 59), None),
    (vietnam(2, 17, 0, 0), "2026/12/03 08:00:00"),
]


@pytest.mark.parametrize(("moment", "rings_at"), EDGES, ids=lambda v: str(v))
def test_an_advertising_call_rings_within_the_hours_or_at_their_next_opening(
    invoke_calls: Invoke, esms: FakeEsms, frozen: Any, moment: datetime, rings_at: str | None
) -> None:
    # Given this moment in Vietnam
    frozen.move_to(moment)
    # When an advertising call is asked for now
    response = post_call(invoke_calls, advert(new_phone()))
    # Then it is accepted, and rings now or at the next opening, which the answer and GET show
    assert response["statusCode"] == 202, response["body"]
    answer = body_of(response)
    assert esms.calls[-1].get("SendDate") == rings_at
    expected = None if rings_at is None else f"{rings_at[:10].replace('/', '-')}T08:00:00+07:00"
    assert answer["deferred_until"] == expected
    record = body_of(invoke_calls(events.get_call(answer["call_id"])))
    assert (record["purpose"], record["deferred_until"]) == ("advertising", expected)
    assert record["send_date"] == rings_at


@pytest.mark.parametrize(("moment", "rings_at"), EDGES, ids=lambda v: str(v))
def test_an_advertising_call_that_says_refuse_is_refused_outside_the_hours(
    invoke_calls: Invoke, esms: FakeEsms, frozen: Any, moment: datetime, rings_at: str | None
) -> None:
    frozen.move_to(moment)
    response = post_call(invoke_calls, advert(new_phone(), outside_hours="refuse"))
    if rings_at is None:
        assert response["statusCode"] == 202, response["body"]
    else:
        assert response["statusCode"] == 422
        assert body_of(response)["type"] == PROBLEM + "outside-calling-hours"
        assert esms.calls == []


def test_a_send_at_in_utc_counts_in_vietnam_time(
    invoke_calls: Invoke, esms: FakeEsms, frozen: Any
) -> None:
    # Given 10:00 in Vietnam, and a send_at of 11:00 UTC tomorrow: 18:00 in Vietnam
    send_at = "2026-12-03T11:00:00Z"
    # When an advertising call is asked for then, deferred or refused
    deferred = post_call(invoke_calls, advert(new_phone(), send_at=send_at))
    refused = post_call(invoke_calls, advert(new_phone(), send_at=send_at, outside_hours="refuse"))
    # Then the first rings at 08:00 the day after, the second is refused
    assert deferred["statusCode"] == 202, deferred["body"]
    assert body_of(deferred)["deferred_until"] == "2026-12-04T08:00:00+07:00"
    assert [call["SendDate"] for call in esms.calls] == ["2026/12/04 08:00:00"]
    assert refused["statusCode"] == 422
    assert body_of(refused)["type"] == PROBLEM + "outside-calling-hours"


def test_no_advertising_call_rings_on_a_blocked_date(
    invoke_calls: Invoke, esms: FakeEsms, frozen: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a deployment that blocks 3 and 4 December, and 17:30 on the 2nd
    settings(monkeypatch, ADVERTISING_BLOCKED_DATES="2026-12-03,2026-12-04")
    frozen.move_to(vietnam(2, 17, 30))
    # When an advertising call is asked for, and one at 09:00 on the 3rd that says refuse
    deferred = post_call(invoke_calls, advert(new_phone()))
    refused = post_call(
        invoke_calls,
        advert(new_phone(), send_at="2026-12-03T09:00:00", outside_hours="refuse"),
    )
    # Then the first rings on the 5th at 08:00 and the second is refused
    assert body_of(deferred)["deferred_until"] == "2026-12-05T08:00:00+07:00"
    assert refused["statusCode"] == 422


def test_a_service_call_rings_at_night(invoke_calls: Invoke, esms: FakeEsms, frozen: Any) -> None:
    frozen.move_to(vietnam(2, 23, 30))
    response = post_call(invoke_calls, {"phone": new_phone(), "template_id": "otp-1"})
    assert response["statusCode"] == 202
    assert body_of(response)["deferred_until"] is None and "SendDate" not in esms.calls[0]


# -- Frequency cap -------------------------------------------------------------------------------


def test_twenty_simultaneous_advertising_requests_for_one_number_place_one_call(
    calls_app: Any, esms: FakeEsms, frozen: Any
) -> None:
    # Given one number and 20 advertising requests with different request ids
    phone = new_phone()
    bodies = [advert(phone) for _ in range(20)]

    def place(body: dict[str, Any]) -> dict[str, Any]:
        return calls_app.lambda_handler(events.post_calls(body), FakeLambdaContext())

    # When they arrive at once
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(place, bodies))
    # Then one call is placed and the others are capped
    statuses = sorted(answer["statusCode"] for answer in answers)
    assert statuses == [202] + [422] * 19
    capped = [body_of(a)["type"] for a in answers if a["statusCode"] == 422]
    assert set(capped) == {PROBLEM + "frequency-capped"}
    assert [call["Phone"] for call in esms.calls] == [phone]


def test_after_a_provider_refusal_the_number_can_be_called_again(
    invoke_calls: Invoke, esms: FakeEsms, frozen: Any
) -> None:
    # Given an advertising call the provider refuses
    phone = new_phone()
    esms.then(refuse("99", "phone number blocked"))
    first = post_call(invoke_calls, advert(phone))
    assert (first["statusCode"], body_of(first)["type"]) == (422, PROBLEM + "provider-refused")
    # When the number is called again
    second = post_call(invoke_calls, advert(phone))
    # Then it is placed, and a third one is capped
    assert second["statusCode"] == 202, second["body"]
    assert post_call(invoke_calls, advert(phone))["statusCode"] == 422


def test_a_replayed_request_answers_as_before_and_takes_no_second_call(
    invoke_calls: Invoke, esms: FakeEsms, frozen: Any
) -> None:
    body = advert(new_phone())
    first = post_call(invoke_calls, body)
    again = post_call(invoke_calls, body)
    assert (first["statusCode"], again["statusCode"]) == (202, 202)
    assert again["headers"]["Idempotent-Replayed"] == "true"
    assert len(esms.calls) == 1


def test_the_next_day_the_number_can_be_called_again(
    invoke_calls: Invoke, esms: FakeEsms, frozen: Any
) -> None:
    phone = new_phone()
    assert post_call(invoke_calls, advert(phone))["statusCode"] == 202
    frozen.move_to(vietnam(3, 9, 59, 59))
    assert post_call(invoke_calls, advert(phone))["statusCode"] == 422
    frozen.move_to(vietnam(3, 10))
    assert post_call(invoke_calls, advert(phone))["statusCode"] == 202


# -- The do-not-call list ------------------------------------------------------------------------


def test_the_do_not_call_list_through_its_routes(
    invoke_calls: Invoke, esms: FakeEsms, frozen: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    phone = new_phone()
    spelled = f"+84 {phone[1:4]} {phone[4:7]} {phone[7:]}"
    # When the number is put on the list, in another spelling
    put = invoke_calls(do_not_call("PUT", spelled, {"reason": "asked on the phone"}))
    # Then it is listed, with its reason, source and time
    assert put["statusCode"] == 201, put["body"]
    entry = body_of(invoke_calls(do_not_call("GET", phone)))
    assert entry == {
        "reason": "asked on the phone",
        "source": "api",
        "created_at": "2026-12-02T03:00:00.000Z",
        "call_id": None,
    }
    # And putting it again changes the reason only
    again = invoke_calls(do_not_call("PUT", phone, {"reason": "complained"}))
    assert again["statusCode"] == 200
    assert body_of(again)["reason"] == "complained"
    # And an advertising call to it is refused, a service call is not
    refused = post_call(invoke_calls, advert(phone))
    assert (refused["statusCode"], body_of(refused)["type"]) == (422, PROBLEM + "do-not-call")
    service = post_call(invoke_calls, {"phone": phone, "template_id": "otp-1"})
    assert service["statusCode"] == 202
    # When it is taken off the list, the advertising call goes through
    assert invoke_calls(do_not_call("DELETE", phone))["statusCode"] == 204
    assert invoke_calls(do_not_call("GET", phone))["statusCode"] == 404
    assert invoke_calls(do_not_call("DELETE", phone))["statusCode"] == 404
    assert post_call(invoke_calls, advert(phone))["statusCode"] == 202
    assert emitted(capsys.readouterr().out)["CallsOnDoNotCall"] == [1.0]


def test_the_do_not_call_routes_refuse_what_is_not_a_number_or_a_method_they_serve(
    invoke_calls: Invoke, esms: FakeEsms
) -> None:
    bad = invoke_calls(do_not_call("GET", "12345"))
    assert bad["statusCode"] == 422 and body_of(bad)["errors"][0]["field"] == "phone"
    other = events.http_event(
        "POST", "/do-not-call/0912345678", route_key="ANY /do-not-call/{phone}"
    )
    answer = invoke_calls(other)
    assert answer["statusCode"] == 405 and answer["headers"]["Allow"] == "DELETE, GET, PUT"


def test_a_number_sent_percent_encoded_is_the_same_entry_and_a_form_body_is_refused(
    invoke_calls: Invoke, esms: FakeEsms
) -> None:
    # Given a number listed in its national form
    phone = new_phone()
    assert invoke_calls(do_not_call("PUT", phone, {}))["statusCode"] == 201
    # When a client asks for it as +84…, percent-encoded in the path as clients send it
    encoded = f"%2B84{phone[1:]}"
    found = invoke_calls(do_not_call("GET", encoded))
    # Then it is the same entry
    assert found["statusCode"] == 200, found["body"]
    # When a PUT comes as a form (curl -d without a Content-Type)
    form = events.http_event(
        "PUT",
        f"/do-not-call/{phone}",
        route_key="PUT /do-not-call/{phone}",
        body={"reason": "x"},
        headers={"content-type": "multipart/form-data"},
        path_parameters={"phone": phone},
    )
    answer = invoke_calls(form)
    # Then it is a clean 415 problem, as for POST /calls
    assert (answer["statusCode"], body_of(answer)["type"]) == (
        415,
        PROBLEM + "unsupported-media-type",
    )


def test_the_list_stops_service_calls_when_the_deployment_says_so(
    invoke_calls: Invoke, esms: FakeEsms, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings(monkeypatch, DO_NOT_CALL_SERVICE_CALLS="true")
    phone = new_phone()
    invoke_calls(do_not_call("PUT", phone, {}))
    refused = post_call(invoke_calls, {"phone": phone, "template_id": "otp-1"})
    assert (refused["statusCode"], body_of(refused)["type"]) == (422, PROBLEM + "do-not-call")


def test_a_key_press_on_the_opt_out_key_lists_the_number_once(
    invoke_calls: Invoke,
    invoke_callback: Invoke,
    esms: FakeEsms,
    frozen: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given an advertising call whose opt-out key is 9
    phone = new_phone()
    placed = body_of(post_call(invoke_calls, advert(phone, opt_out_key="9")))
    url = esms.calls[0]["CallbackUrl"]
    # When its callback reports key 9, three times
    query = report_query(placed["sms_id"], Ivr="9")
    answers = [invoke_callback(callback_event(appended(url, query))) for _ in range(3)]
    # Then each is answered 200, the number is listed once, by key press
    assert [a["statusCode"] for a in answers] == [200] * 3
    entry = body_of(invoke_calls(do_not_call("GET", phone)))
    assert (entry["source"], entry["call_id"]) == ("key-press", placed["call_id"])
    assert emitted(capsys.readouterr().out)["NumbersOptedOut"] == [1.0]
    # And tomorrow's advertising call to it is refused
    frozen.move_to(vietnam(3, 11))
    refused = post_call(invoke_calls, advert(phone))
    assert body_of(refused)["type"] == PROBLEM + "do-not-call"


# -- Batches and rule events ---------------------------------------------------------------------


def test_a_batch_skips_listed_and_capped_entries_and_counts_them_by_rule(
    invoke_calls: Invoke,
    invoke_callback: Invoke,
    esms: FakeEsms,
    calls_queue: CallsQueue,
    frozen: Any,
) -> None:
    # Given a listed number, and a batch of advertising calls: to it, and twice to another
    listed, twice = new_phone(), new_phone()
    invoke_calls(do_not_call("PUT", listed, {}))
    batch_id = f"promo-{uuid.uuid4().hex[:8]}"
    body = {
        "calls": [twice, listed, {"phone": twice, "template_id": "promo-2"}, new_phone()],
        "defaults": {"template_id": "promo-1", "purpose": "advertising"},
    }
    # When it is posted and its calls placed
    answer = body_of(invoke_calls(events.post_batches(body, headers={"Idempotency-Key": batch_id})))
    drain(calls_queue, invoke_calls)
    # Then the listed entry is reported skipped at once, and the second call to one number
    # is skipped when placed; the summary counts both by rule
    assert answer["accepted"] == 3
    assert answer["skipped"] == [{"index": 1, "rule": "do-not-call"}]
    assert sorted(call["Phone"] for call in esms.calls) == sorted([twice, body["calls"][3]])
    summary = body_of(invoke_calls(events.get_batch(batch_id)))
    assert summary["skipped"] == {
        "outside-calling-hours": 0,
        "frequency-capped": 1,
        "do-not-call": 1,
    }
    assert (summary["total"], summary["placed"], summary["finished"]) == (4, 2, False)
    # When the two placed calls end
    listed_calls = body_of(invoke_calls(events.list_batch_calls(batch_id)))["items"]
    sms_ids = {c["request_id"]: c["sms_id"] for c in listed_calls}
    for sent in esms.calls:
        url = appended(sent["CallbackUrl"], report_query(sms_ids[sent["RequestID"]], send_status=5))
        assert invoke_callback(callback_event(url))["statusCode"] == 200
    # Then the batch is finished: its skipped entries count as settled
    summary = body_of(invoke_calls(events.get_batch(batch_id)))
    assert (summary["placed"], summary["by_status"]["COMPLETED"], summary["finished"]) == (
        2,
        2,
        True,
    )


def test_a_rule_events_list_reports_its_skipped_entries(
    invoke_calls: Invoke, esms: FakeEsms, frozen: Any
) -> None:
    listed = new_phone()
    invoke_calls(do_not_call("PUT", listed, {}))
    event = rule_event({"calls": [{"phone": listed, "template_id": "p", "purpose": "advertising"}]})
    report = invoke_calls(event)
    ((skipped,),) = [report["skipped"]]
    assert (skipped["index"], skipped["rule"]) == (0, "do-not-call")
    assert skipped["phone"] != listed and skipped["phone"].endswith(listed[-3:])  # masked
    assert esms.calls == []


# -- No whole listed number is kept ------------------------------------------------------------


def test_no_whole_listed_number_reaches_a_stored_item_or_a_log_line(
    invoke_calls: Invoke,
    esms: FakeEsms,
    calls_queue: CallsQueue,
    tables: dict[str, str],
    log_lines: Any,
    frozen: Any,
) -> None:
    # Given numbers put on the list, then advertising calls and a batch to them
    numbers = [new_phone() for _ in range(3)]
    for phone in numbers:
        assert invoke_calls(do_not_call("PUT", phone, {"reason": "r"}))["statusCode"] == 201
        assert post_call(invoke_calls, advert(phone))["statusCode"] == 422
        invoke_calls(do_not_call("GET", phone))
    invoke_calls(
        events.post_batches(
            {"calls": numbers, "defaults": {"template_id": "p", "purpose": "advertising"}}
        )
    )
    drain(calls_queue, invoke_calls)
    # Then no item of any table holds one of them, in any spelling, nor does any log line
    client = dynamodb_client()
    stored = json.dumps(
        [client.scan(TableName=name)["Items"] for name in tables.values()], default=str
    )
    logged = log_lines.getvalue()
    assert "dnc#" in stored  # the list is there, by keyed hash
    for phone in numbers:
        national_digits = phone[1:]  # 0912345678, 84912345678 and +84... all contain these
        assert national_digits not in stored
        assert national_digits not in logged


def test_the_samples_in_events_answer_as_the_readme_says(
    invoke_calls: Invoke, esms: FakeEsms, frozen: Any
) -> None:
    # Given the number of the samples on the list (events/do_not_call_put.json)
    assert invoke_calls(events.load_event("do_not_call_put.json"))["statusCode"] == 201
    assert body_of(invoke_calls(events.load_event("do_not_call_get.json")))["source"] == "api"
    # Then the advertising sample to it is refused, and placed once it is off the list
    refused = invoke_calls(events.load_event("calls_post_advertising.json"))
    assert body_of(refused)["type"] == PROBLEM + "do-not-call"
    assert invoke_calls(events.load_event("do_not_call_delete.json"))["statusCode"] == 204
    assert invoke_calls(events.load_event("calls_post_advertising.json"))["statusCode"] == 202
    assert esms.calls[0]["Phone"] == "0912345678" and "opt_out_key" not in esms.calls[0]


def test_an_advertising_call_costs_one_read_and_one_write_more_than_a_service_call(
    invoke_calls: Invoke, esms: FakeEsms, frozen: Any
) -> None:
    # When a service call and an advertising call are placed
    with counting_requests() as service:
        post_call(invoke_calls, {"phone": new_phone(), "template_id": "otp-1"})
    with counting_requests() as advertising:
        post_call(invoke_calls, advert(new_phone()))
    # Then the rules cost the advertising call its list lookup and its cap slot, nothing else
    extra = advertising.by_operation - service.by_operation
    assert dict(extra) == {"GetItem": 1, "UpdateItem": 1}
    assert service.by_operation - advertising.by_operation == {}
