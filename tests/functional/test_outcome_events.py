"""Outcome events: template.yaml's OutcomeEventsPipe (CallsTable stream → filter → input
template → outcome bus), applied to the stream records moto's DynamoDB really produces while a
call is driven to its end, repeated and late callbacks included. Exactly one event per call, with
a deterministic event id; then delivered through an EventBridge bus and rule (moto) to show how a
subscriber receives it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from devstack.template import load_template
from esms_calls import dependencies
from tests.support.callbacks import appended, callback_event, report_query
from tests.support.clients import dynamodb_client
from tests.support.events import load_event
from tests.support.fake_esms import FakeEsms, refuse
from tests.support.lambda_context import FakeLambdaContext
from tests.support.pipes import outcome_pipe, pipe_entries, stream_records
from tests.support.triggers import TODAY, new_schedule, scheduled

Invoke = Callable[..., dict[str, Any]]
CALL = {"phone": "0912345678", "template_id": "123"}


def place_scheduled(invoke_calls: Invoke, esms: FakeEsms) -> dict[str, Any]:
    [placed] = invoke_calls(scheduled(new_schedule(), TODAY, call=CALL))["placed"]
    return {**placed, "callback_url": esms.calls[-1]["CallbackUrl"]}


def callback(invoke_callback: Invoke, call: dict[str, Any], sms_id: str, **values: Any) -> None:
    query = report_query(sms_id, **values)
    assert (
        invoke_callback(callback_event(appended(call["callback_url"], query)))["statusCode"] == 200
    )


def outcome_events(tables: dict[str, str]) -> list[dict[str, Any]]:
    return pipe_entries(outcome_pipe(), stream_records(tables["CallsTable"]))


def test_a_final_outcome_produces_exactly_one_outcome_event(
    invoke_calls: Invoke, invoke_callback: Invoke, esms: FakeEsms, tables: dict[str, str]
) -> None:
    # Given a scheduled call accepted by the provider
    call = place_scheduled(invoke_calls, esms)
    sms_id = call["sms_id"]
    # When the provider reports it waiting, sent, finished; repeats the final callback; and
    # later sends a different final result
    callback(invoke_callback, call, sms_id, send_status=2, CallStatus="")
    callback(invoke_callback, call, sms_id, send_status=7, CallStatus="")
    callback(invoke_callback, call, sms_id, send_status=5)
    callback(invoke_callback, call, sms_id, send_status=5)
    callback(invoke_callback, call, sms_id, send_status=5, CallStatus="NO ANSWER")
    # Then of all the call's stream records, exactly one becomes an event: its move to COMPLETED
    records = stream_records(tables["CallsTable"])
    assert len(records) >= 5
    [event] = outcome_events(tables)
    assert event["Source"] == "esms-calls" and event["DetailType"] == "Call Finished"
    detail = json.loads(event["Detail"])
    finished_at = detail.pop("finished_at")
    assert detail == {
        "event_id": f"{call['call_id']}:COMPLETED",
        "call_id": call["call_id"],
        "request_id": call["request_id"],
        "kind": "recording",
        "status": "COMPLETED",
        "outcome": "ANSWERED",  # the first final result stands
    }
    assert datetime.fromisoformat(finished_at.replace("Z", "+00:00")).tzinfo is not None
    # And it holds no phone number
    assert "0912345678" not in event["Detail"] and "912345678" not in event["Detail"]


def test_a_refused_call_produces_one_failed_outcome_event(
    invoke_calls: Invoke, esms: FakeEsms, tables: dict[str, str]
) -> None:
    # Given the provider refuses a scheduled call
    esms.then(refuse("108", "invalid phone"))
    schedule = new_schedule()
    [placed] = invoke_calls(scheduled(schedule, TODAY, call=CALL))["placed"]
    assert placed["status"] == "FAILED" and placed["esms_code"] == "108"
    # When the run is retried (the refusal is replayed)
    assert invoke_calls(scheduled(schedule, TODAY, call=CALL))["placed"][0]["replayed"]
    # Then one outcome event says so
    [event] = outcome_events(tables)
    assert json.loads(event["Detail"]) | {"finished_at": None} == {
        "event_id": f"{placed['call_id']}:FAILED",
        "call_id": placed["call_id"],
        "request_id": placed["request_id"],
        "kind": "recording",
        "status": "FAILED",
        "outcome": "REFUSED",
        "finished_at": None,
    }


@pytest.fixture
def due_at_once(monkeypatch: pytest.MonkeyPatch, tables: dict[str, str]) -> None:
    monkeypatch.setenv("RECONCILE_AFTER_SECONDS", "0")
    dependencies.reset()


def test_an_expired_call_produces_one_outcome_event(
    invoke_calls: Invoke,
    invoke_callback: Invoke,
    esms: FakeEsms,
    tables: dict[str, str],
    due_at_once: None,
) -> None:
    # Given an accepted call that nothing settled for three days
    call = place_scheduled(invoke_calls, esms)
    created = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="milliseconds")
    dynamodb_client().update_item(
        TableName=tables["CallsTable"],
        Key={"call_id": {"S": call["call_id"]}},
        UpdateExpression="SET created_at = :c",
        ExpressionAttributeValues={":c": {"S": created.replace("+00:00", "Z")}},
    )
    # When the reconciliation runs twice
    for _ in range(2):
        invoke_callback(
            load_event("reconcile_schedule.json"),
            FakeLambdaContext(function_name="CallbackFunction", timeout_seconds=60),
        )
    # Then one event says it expired with an unknown outcome
    [event] = outcome_events(tables)
    detail = json.loads(event["Detail"])
    assert (detail["event_id"], detail["status"], detail["outcome"]) == (
        f"{call['call_id']}:EXPIRED",
        "EXPIRED",
        "UNKNOWN",
    )


def test_a_subscriber_receives_the_outcome_event_once(
    invoke_calls: Invoke, invoke_callback: Invoke, esms: FakeEsms, tables: dict[str, str]
) -> None:
    # Given the outcome bus, and a subscriber's rule sending its events to the subscriber's queue
    bus_name = "outcomes-" + tables["CallsTable"]
    events = boto3.client("events")
    sqs = boto3.client("sqs")
    events.create_event_bus(Name=bus_name)
    inbox = sqs.create_queue(QueueName="subscriber-" + tables["CallsTable"])["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="finished-calls",
        EventBusName=bus_name,
        EventPattern=json.dumps({"source": ["esms-calls"], "detail-type": ["Call Finished"]}),
    )
    events.put_targets(
        Rule="finished-calls", EventBusName=bus_name, Targets=[{"Id": "inbox", "Arn": inbox_arn}]
    )
    # And a call driven to its end, its final callback repeated
    call = place_scheduled(invoke_calls, esms)
    for _ in range(3):
        callback(invoke_callback, call, call["sms_id"], send_status=5)
    # When the pipe puts what it made of the stream on the bus
    entries = outcome_events(tables)
    answer = events.put_events(Entries=[{**e, "EventBusName": bus_name} for e in entries])
    assert answer["FailedEntryCount"] == 0
    # Then the subscriber received one event for the call
    received = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)["Messages"]
    [message] = received
    event = json.loads(message["Body"])
    assert event["source"] == "esms-calls" and event["detail-type"] == "Call Finished"
    assert event["detail"]["event_id"] == f"{call['call_id']}:COMPLETED"
    assert event["detail"]["request_id"] == call["request_id"]


def test_the_pipe_reads_the_calls_table_stream_onto_the_outcome_bus() -> None:
    # The wiring the tests above rely on, as deployed
    resources = load_template()["Resources"]
    pipe = resources["OutcomeEventsPipe"]["Properties"]
    assert pipe["Source"] == {"Fn::GetAtt": ["CallsTable", "StreamArn"]}
    assert pipe["Target"] == {"Fn::GetAtt": ["OutcomeEventBus", "Arn"]}
    stream = resources["CallsTable"]["Properties"]["StreamSpecification"]
    assert stream == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
