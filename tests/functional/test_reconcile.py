"""The scheduled reconciliation: calls whose callbacks never came are settled from GetSendStatus,
asked again later on 105, ended EXPIRED past the horizon; each run stays within its bounds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from esms_calls import dependencies
from tests.support import events
from tests.support.callbacks import appended, callback_event, report_query
from tests.support.clients import dynamodb_client
from tests.support.dynamodb_requests import counting_requests
from tests.support.events import load_event
from tests.support.fake_esms import body_of, raises
from tests.support.lambda_context import FakeLambdaContext
from tests.support.metrics import datapoints, emitted

Invoke = Callable[..., dict[str, Any]]


def send_status(sms_id: str, status: int, call_status: str = "ANSWERED") -> Callable:
    return lambda request: httpx.Response(
        200,
        json={
            "CallDuration": 21,
            "CallStatus": call_status,
            "CodeResponse": "100",
            "Ivr": "",
            "ReferenceId": sms_id.upper(),
            "SendStatus": status,
            "SentResult": 1,
        },
    )


def not_found_yet(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, json={"CodeResult": "105", "CountRegenerate": 0, "ErrorMessage": "Not found"}
    )


@pytest.fixture
def due_at_once(monkeypatch: pytest.MonkeyPatch, tables) -> None:
    """Calls are due for reconciliation as soon as they are placed."""
    monkeypatch.setenv("RECONCILE_AFTER_SECONDS", "0")
    monkeypatch.setenv("RECONCILE_RETRY_SECONDS", "600")
    dependencies.reset()


def place(invoke_calls: Invoke, esms, n: int = 1) -> list[dict[str, Any]]:
    placed = []
    for i in range(n):
        body = body_of(
            invoke_calls(events.post_calls({"phone": "0912345678", "template_id": str(i)}))
        )
        placed.append({**body, "callback_url": esms.calls[-1]["CallbackUrl"]})
    return placed


def reconcile(invoke_callback: Invoke, timeout_seconds: float = 60) -> dict[str, Any]:
    context = FakeLambdaContext(function_name="CallbackFunction", timeout_seconds=timeout_seconds)
    return invoke_callback(load_event("reconcile_schedule.json"), context)


def shown(invoke_calls: Invoke, call_id: str) -> dict[str, Any]:
    return body_of(invoke_calls(events.get_call(call_id)))


def age(tables: dict[str, str], call_id: str, by: timedelta) -> None:
    created = (datetime.now(UTC) - by).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    dynamodb_client().update_item(
        TableName=tables["CallsTable"],
        Key={"call_id": {"S": call_id}},
        UpdateExpression="SET created_at = :c",
        ExpressionAttributeValues={":c": {"S": created}},
    )


def test_a_call_whose_callbacks_never_came_is_settled_from_the_status_query(
    invoke_calls: Invoke, invoke_callback: Invoke, esms, due_at_once
) -> None:
    # Given an accepted call that heard nothing
    [call] = place(invoke_calls, esms)
    esms.then(send_status(call["sms_id"], 5))
    # When the reconciliation runs
    summary = reconcile(invoke_callback)
    # Then it asked the provider by SMSID and stored the answer as a callback would be
    assert summary["settled"] == 1
    assert esms.requests[-1].url.path.endswith("/GetSendStatus")
    assert esms.requests[-1].url.params["ReferenceId"] == call["sms_id"]
    settled = shown(invoke_calls, call["call_id"])
    assert settled["status"] == "COMPLETED"
    assert (
        settled["result"]["call_status"] == "ANSWERED"
        and settled["result"]["duration_seconds"] == 21
    )
    assert settled["callbacks_received"] == 0  # a status query is not a callback
    # And the next run has nothing left to do
    assert reconcile(invoke_callback)["examined"] == 0


def test_105_leaves_the_call_for_a_later_run(
    invoke_calls: Invoke, invoke_callback: Invoke, esms, due_at_once
) -> None:
    [call] = place(invoke_calls, esms)
    esms.then(not_found_yet)
    summary = reconcile(invoke_callback)
    assert summary["deferred"] == 1 and summary["settled"] == 0
    assert shown(invoke_calls, call["call_id"])["status"] == "ACCEPTED"
    # Not due again until the retry interval has passed
    assert reconcile(invoke_callback)["examined"] == 0


def test_a_non_final_answer_moves_the_call_and_keeps_it_open(
    invoke_calls: Invoke, invoke_callback: Invoke, esms, due_at_once
) -> None:
    [call] = place(invoke_calls, esms)
    esms.then(send_status(call["sms_id"], 7, call_status=""))
    summary = reconcile(invoke_callback)
    assert summary["deferred"] == 1
    assert shown(invoke_calls, call["call_id"])["status"] == "REPORT_PENDING"


def test_past_the_horizon_a_call_ends_expired_with_an_unknown_outcome(
    invoke_calls: Invoke, invoke_callback: Invoke, esms, tables, due_at_once
) -> None:
    # Given a call placed three days ago that nothing settled
    [call] = place(invoke_calls, esms)
    age(tables, call["call_id"], timedelta(days=3))
    # When the reconciliation runs
    summary = reconcile(invoke_callback)
    # Then the call is EXPIRED, its outcome UNKNOWN, without asking the provider
    assert summary["expired"] == 1
    assert len(esms.requests) == 1
    expired = shown(invoke_calls, call["call_id"])
    assert expired["status"] == "EXPIRED" and expired["result"]["call_status"] == "UNKNOWN"
    # And a late callback does not undo it; it is kept
    late = appended(call["callback_url"], report_query(call["sms_id"]))
    assert invoke_callback(callback_event(late))["statusCode"] == 200
    assert shown(invoke_calls, call["call_id"])["status"] == "EXPIRED"


def test_a_pending_call_with_no_smsid_waits_then_expires(
    invoke_calls: Invoke, invoke_callback: Invoke, esms, tables, due_at_once
) -> None:
    # Given a call whose placement timed out and was never retried
    esms.then(raises(httpx.ReadTimeout))
    invoke_calls(events.post_calls({"phone": "0912345678", "template_id": "1"}))
    call_id = esms.calls[0]["CallbackUrl"].split("/")[-2]
    # When the reconciliation runs, it cannot ask the provider (no SMSID): the call waits
    assert reconcile(invoke_callback)["deferred"] == 1
    assert len(esms.requests) == 1
    # And past the horizon, it ends EXPIRED
    age(tables, call_id, timedelta(days=3))
    dynamodb_client().update_item(
        TableName=tables["CallsTable"],
        Key={"call_id": {"S": call_id}},
        UpdateExpression="SET check_after = :now",
        ExpressionAttributeValues={":now": {"N": "0"}},
    )
    assert reconcile(invoke_callback)["expired"] == 1
    assert shown(invoke_calls, call_id)["status"] == "EXPIRED"


def test_a_provider_fault_during_the_query_defers_the_call(
    invoke_calls: Invoke, invoke_callback: Invoke, esms, due_at_once
) -> None:
    [call] = place(invoke_calls, esms)
    esms.then(raises(httpx.ConnectError))
    summary = reconcile(invoke_callback)
    assert summary["deferred"] == 1 and summary["errors"] == ["ProviderUnavailable"]
    assert shown(invoke_calls, call["call_id"])["status"] == "ACCEPTED"


def test_settled_calls_are_not_looked_at(
    invoke_calls: Invoke, invoke_callback: Invoke, esms, due_at_once
) -> None:
    [call] = place(invoke_calls, esms)
    invoke_callback(callback_event(appended(call["callback_url"], report_query(call["sms_id"]))))
    assert reconcile(invoke_callback)["examined"] == 0


def test_a_run_with_many_open_calls_stops_within_its_count_bound(
    invoke_calls: Invoke, invoke_callback: Invoke, esms, monkeypatch, due_at_once, capsys
) -> None:
    # Given 30 open calls and runs bounded to 12 calls
    place(invoke_calls, esms, 30)
    monkeypatch.setenv("RECONCILE_MAX_CALLS", "12")
    dependencies.reset()
    esms.then(*[not_found_yet] * 30)
    # When the reconciliation runs, without a scan
    with counting_requests() as requests:
        first = reconcile(invoke_callback)
    # Then it looked at 12, and the next runs at the rest
    assert first["examined"] == 12
    assert requests.by_operation["Scan"] == 0 and requests.by_operation["Query"] >= 1
    assert reconcile(invoke_callback)["examined"] == 12
    assert reconcile(invoke_callback)["examined"] == 6
    # And the runs that could not see every call due said so (the backlog alarm's metric)
    assert emitted(capsys.readouterr().out)["ReconcileBacklog"] == [1.0, 1.0, 0.0]


def test_a_run_stops_before_its_time_runs_out(
    invoke_calls: Invoke, invoke_callback: Invoke, esms, due_at_once
) -> None:
    # Given open calls and an invocation with less time left than the stop margin
    place(invoke_calls, esms, 3)
    # When the reconciliation runs
    summary = reconcile(invoke_callback, timeout_seconds=4)
    # Then it stops cleanly, having asked the provider nothing
    assert summary["stopped_early"] is True and summary["examined"] == 0
    assert len(esms.requests) == 3


def test_a_call_settled_from_the_status_query_publishes_its_outcome_and_time_since_placement(
    invoke_calls: Invoke, invoke_callback: Invoke, esms, due_at_once, tables, capsys
) -> None:
    # Given a call placed ten minutes ago that heard nothing, and a provider that knows it ended
    [call] = place(invoke_calls, esms)
    age(tables, call["call_id"], timedelta(minutes=10))
    esms.then(send_status(call["sms_id"], 5, call_status="NO ANSWER"))
    capsys.readouterr()

    # When the reconciliation settles it
    assert reconcile(invoke_callback)["settled"] == 1

    # Then its outcome is counted, and its time since placement is the ten minutes and more
    points = datapoints(capsys.readouterr().out)
    assert [(p.dimensions["outcome"], p.values) for p in points if p.name == "CallsFinished"] == [
        ("NO_ANSWER", [1.0])
    ]
    [time_to_final] = [p.values for p in points if p.name == "TimeToFinalStatus"]
    assert len(time_to_final) == 1 and time_to_final[0] >= 600
