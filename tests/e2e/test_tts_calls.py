"""Spoken text on the local stack, driven as a user drives it: a tts call completes through the
simulator's callbacks, a personalised list of 50 speaks each entry's own variables, and a
one-time code shows nowhere but at the provider."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.stack import ROOT, RunningStack, invoke_event, wait_for
from tests.e2e.test_local_stack import JSON, SETTLE_SECONDS, new_phone, settled

pytestmark = pytest.mark.e2e


def simulator_calls(stack: RunningStack) -> list[dict[str, Any]]:
    answer = httpx.get(f"{stack.simulator_url}/_simulator/calls", timeout=5)
    calls: list[dict[str, Any]] = answer.json()["calls"]
    return calls


def test_a_tts_call_completes_through_the_simulators_callbacks(
    stack: RunningStack, api: httpx.Client
) -> None:
    # Given a reminder script of the simulator's account, with its two variables
    phone = new_phone()
    body = {"phone": phone, "tts": {"template_id": "REMIND1", "variables": ["Lan", "14:00"]}}
    # When it is posted
    answer = api.post("/calls", content=json.dumps(body), headers=JSON)
    assert answer.status_code == 202, answer.text
    call = answer.json()
    # Then it completes with the provider's result, and shows what it spoke
    record = wait_for(lambda: settled(api, call["call_id"]), timeout=SETTLE_SECONDS)
    assert record, api.get(f"/calls/{call['call_id']}").text
    assert record["kind"] == "tts" and record["callbacks_received"] == 3
    assert record["tts"]["variables"] == ["Lan", "14:00"]
    assert record["result"]["call_status"] == "ANSWERED"
    # And the simulator heard MakeCallTemplate_V2 with those variables
    [heard] = [c for c in simulator_calls(stack) if c["sms_id"] == call["sms_id"]]
    assert heard["api"] == "MakeCallTemplate_V2" and heard["variables"] == ["Lan", "14:00"]


def test_an_unknown_script_is_the_providers_104(api: httpx.Client) -> None:
    body = {"phone": new_phone(), "tts": {"template_id": "NO-SUCH-SCRIPT", "variables": ["1"]}}
    answer = api.post("/calls", content=json.dumps(body), headers=JSON)
    assert answer.status_code == 422 and answer.json()["esms_code"] == "104"


def test_a_list_of_50_reminders_speaks_each_entrys_variables(stack: RunningStack) -> None:
    # Given a rule event of 50 debt reminders: the script in defaults, each entry its own
    # name and amount (over the fan-out threshold: it goes through the calls queue)
    phones = sorted({new_phone() for _ in range(50)})
    assert len(phones) == 50
    wanted = {phone: [f"Khách {i}", f"{(i + 1) * 10_000} đồng"] for i, phone in enumerate(phones)}
    event = json.loads((ROOT / "events" / "rule_tts_calls_requested.json").read_text())
    event["id"] = str(uuid.uuid4())
    event["detail"]["calls"] = [
        {"phone": phone, "tts": {"variables": variables}} for phone, variables in wanted.items()
    ]
    # When CallsFunction gets it, as the rule would invoke it
    report = invoke_event(stack, "CallsFunction", event)
    assert report["invalid"] == [] and report["queued"] + len(report["placed"]) == 50

    # Then the simulator placed 50 calls, each with its own entry's variables
    def all_placed() -> dict[str, list[str]] | None:
        heard = {c["phone"]: c["variables"] for c in simulator_calls(stack) if c["phone"] in wanted}
        return heard if len(heard) == 50 else None

    heard = wait_for(all_placed, timeout=60, interval=0.5)
    assert heard == wanted


def test_a_one_time_code_is_spoken_and_never_shown(stack: RunningStack, api: httpx.Client) -> None:
    # Given a one-time code call
    code = "90817263"
    body = {
        "phone": new_phone(),
        "tts": {"template_id": "OTP1", "variables": [code], "sensitive": True},
    }
    # When it is posted and replayed, and read once finished
    request_id = f"login-{uuid.uuid4().hex[:8]}"
    headers = {**JSON, "Idempotency-Key": request_id}
    first = api.post("/calls", content=json.dumps(body), headers=headers)
    again = api.post("/calls", content=json.dumps(body), headers=headers)
    assert first.status_code == again.status_code == 202 and first.json() == again.json()
    call_id = first.json()["call_id"]
    record = wait_for(lambda: settled(api, call_id), timeout=SETTLE_SECONDS)
    assert record and record["tts"]["variables"] is None and record["tts"]["variable_count"] == 1
    # Then the provider heard it, and neither the answers nor the stack's output show it
    [heard] = [c for c in simulator_calls(stack) if c["sms_id"] == first.json()["sms_id"]]
    assert heard["variables"] == [code]
    assert code not in first.text + again.text + json.dumps(record)
    assert code not in stack.output()
