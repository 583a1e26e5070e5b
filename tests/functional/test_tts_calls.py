"""Spoken text (tts) calls through CallsFunction with moto: `POST /calls` with `tts`, what the
provider receives, `GET /calls/{call_id}`, the outcome event's `kind`, and lists whose defaults
name a script and whose entries bring their own variables."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3

from tests.functional.test_call_fan_out import drain
from tests.support import events
from tests.support.callbacks import appended, callback_event, report_query
from tests.support.fake_esms import FakeEsms, body_of
from tests.support.pipes import outcome_pipe, pipe_entries, stream_records
from tests.support.queues import CallsQueue
from tests.support.triggers import TODAY, new_schedule, phones, rule_event, scheduled

REMINDER = {
    "phone": "0912345678",
    "tts": {"template_id": "REMIND1", "variables": ["Lan", "14:00"], "voice": "ngoclam"},
}


def test_a_tts_call_is_spoken_shown_and_finished_with_its_kind(
    invoke_calls, invoke_callback, esms: FakeEsms, tables: dict[str, str]
) -> None:
    # Given a tts call
    request_id = f"remind-{uuid.uuid4().hex[:8]}"
    # When it is posted
    response = invoke_calls(events.post_calls({**REMINDER, "request_id": request_id}))
    # Then the provider is asked with MakeCallTemplate_V2, in its own spelling
    assert response["statusCode"] == 202, response["body"]
    call = body_of(response)
    assert esms.requests[0].url.path.endswith("/MakeCallTemplate_V2")
    [sent] = esms.calls
    assert sent["VariableListStr"] == "Lan||14:00" and sent["Voice"] == "ngoclam"
    assert sent["RequestId"] == request_id and sent["TemplateId"] == "REMIND1"
    # When the provider reports it finished
    query = report_query(call["sms_id"], send_status=5)
    assert (
        invoke_callback(callback_event(appended(sent["CallbackUrl"], query)))["statusCode"] == 200
    )
    # Then GET shows its kind and the script's parameters
    record = body_of(invoke_calls(events.get_call(call["call_id"])))
    assert record["status"] == "COMPLETED" and record["kind"] == "tts"
    assert record["template_id"] == "REMIND1"
    assert record["tts"] == {
        "template_id": "REMIND1",
        "variables": ["Lan", "14:00"],
        "variable_count": 2,
        "voice": "ngoclam",
        "speed": None,
        "sensitive": False,
    }
    # And the outcome event says it was a tts call
    [event] = pipe_entries(outcome_pipe(), stream_records(tables["CallsTable"]))
    assert json.loads(event["Detail"])["kind"] == "tts"


def test_the_one_time_code_sample_is_placed(invoke_calls, esms: FakeEsms) -> None:
    response = invoke_calls(events.load_event("calls_post_otp.json"))
    assert response["statusCode"] == 202, response["body"]
    [sent] = esms.calls
    assert (sent["TemplateId"], sent["VariableListStr"]) == ("OTP1", "482913")
    assert (sent["Voice"], sent["Speed"], sent["RequestId"]) == ("female", "0", "login-7731")


def test_a_recording_call_shows_its_kind_too(invoke_calls, esms: FakeEsms) -> None:
    call = body_of(invoke_calls(events.post_calls({"phone": "0912345678", "template_id": "7"})))
    record = body_of(invoke_calls(events.get_call(call["call_id"])))
    assert record["kind"] == "recording" and record["tts"] is None


def test_recording_only_options_with_a_script_are_422_with_each_field(
    invoke_calls, esms: FakeEsms, tables: dict[str, str]
) -> None:
    body = {**REMINDER, "ivr": "1", "number_forward": "0987654321", "MaxRetry": 2}
    response = invoke_calls(events.post_calls(body))
    assert response["statusCode"] == 422
    fields = {error["field"] for error in body_of(response)["errors"]}
    assert fields == {"ivr", "number_forward", "max_retry"}
    assert esms.requests == []


def test_a_query_the_provider_cannot_take_is_422_and_nothing_is_kept(
    invoke_calls, esms: FakeEsms, tables: dict[str, str]
) -> None:
    # Given variables that fit the model's bound but not, with the credentials and callback
    # URL, the provider's 2,000 characters
    body = {"phone": "0912345678", "tts": {"template_id": "REMIND1", "variables": ["x" * 100] * 18}}
    # When it is posted
    response = invoke_calls(events.post_calls(body))
    # Then it is refused as the caller's mistake, and neither the provider nor a table heard of it
    assert response["statusCode"] == 422, response["body"]
    assert [e["field"] for e in body_of(response)["errors"]] == ["tts.variables"]
    assert esms.requests == []
    dynamodb = boto3.client("dynamodb")
    assert all(dynamodb.scan(TableName=name)["Items"] == [] for name in tables.values())


def test_a_rule_event_list_speaks_the_defaults_script_with_each_entrys_variables(
    invoke_calls, esms: FakeEsms, calls_queue: CallsQueue
) -> None:
    # Given a rule event of 30 reminders (over the fan-out threshold): the script in defaults,
    # each entry its own name and time
    numbers = phones(30)
    entries = [
        {"phone": phone, "tts": {"variables": [f"Khách {i}", f"{8 + i % 9}:30"]}}
        for i, phone in enumerate(numbers)
    ]
    detail = {"defaults": {"tts": {"template_id": "REMIND1", "voice": "female"}}, "calls": entries}
    # When it is handled and its queue drained
    report = invoke_calls(rule_event(detail))
    assert report["queued"] == 30 and report["invalid"] == []
    drain(calls_queue, invoke_calls)
    # Then each number heard the script with its own variables
    spoken = {sent["Phone"]: sent for sent in esms.calls}
    assert sorted(spoken) == numbers
    for i, phone in enumerate(numbers):
        assert spoken[phone]["VariableListStr"] == f"Khách {i}||{8 + i % 9}:30"
        assert spoken[phone]["TemplateId"] == "REMIND1" and spoken[phone]["Voice"] == "female"


def test_a_schedule_places_tts_calls_from_its_defaults(invoke_calls, esms: FakeEsms) -> None:
    event = scheduled(
        new_schedule(),
        TODAY,
        defaults={"tts": {"TemplateId": "REMIND1", "Speed": -1}},
        calls=[{"phone": "0912345678", "tts": {"VariableListStr": "Lan||9:00"}}, "0987654321"],
    )
    report: dict[str, Any] = invoke_calls(event)
    # The bare number takes the defaults' script without variables: the provider is the judge
    assert report["invalid"] == [] and len(report["placed"]) == 2
    assert [sent.get("VariableListStr") for sent in esms.calls] == ["Lan||9:00", None]
    assert {sent["Speed"] for sent in esms.calls} == {"-1"}
