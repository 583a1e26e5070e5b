"""EventBridge rule events whose `detail` is one call or a list: validated like `POST /calls`,
placed once however often EventBridge delivers the event; a producer's own request ids keep a
re-sent event (a PutEvents retry makes a new event id) from placing its calls twice."""

from __future__ import annotations

import uuid

from tests.support.fake_esms import FakeEsms
from tests.support.triggers import rule_event

CALL = {"phone": "0912345678", "template_id": "123"}


def test_a_rule_event_with_one_call_places_it_once(invoke_calls, esms: FakeEsms) -> None:
    # Given an event whose detail is one call, without a request id
    event = rule_event(CALL)
    # When EventBridge delivers it, then delivers it again (a retry of the same event)
    first = invoke_calls(event)
    again = invoke_calls(event)
    # Then one call was placed, under an id derived from the event
    [placed] = first["placed"]
    assert placed["status"] == "ACCEPTED" and placed["request_id"].startswith("evt:")
    assert again["placed"] == [{**placed, "replayed": True}]
    assert [sent["RequestID"] for sent in esms.calls] == [placed["request_id"]]


def test_a_rule_event_list_with_the_producers_ids_survives_a_resent_event(
    invoke_calls, esms: FakeEsms
) -> None:
    # Given a list whose calls carry the producer's own request ids
    ids = [f"order-{uuid.uuid4().hex[:8]}", f"order-{uuid.uuid4().hex[:8]}"]
    detail = {
        "defaults": {"template_id": "123"},
        "calls": [
            {"phone": "0912345678", "request_id": ids[0]},
            {"phone": "0987654321", "RequestId": ids[1]},
        ],
    }
    # When the producer sends it twice (two events, two event ids)
    first = invoke_calls(rule_event(detail))
    resent = invoke_calls(rule_event(detail))
    # Then each call was placed once, under the producer's id
    assert [p["request_id"] for p in first["placed"]] == ids
    assert [p["replayed"] for p in resent["placed"]] == [True, True]
    assert [sent["RequestID"] for sent in esms.calls] == ids


def test_a_new_event_without_ids_is_a_new_request(invoke_calls, esms: FakeEsms) -> None:
    # Given two distinct events asking for the same call, without request ids
    # When both are delivered
    invoke_calls(rule_event(CALL))
    invoke_calls(rule_event(CALL))
    # Then both are placed: nothing tells them apart from two reminders
    assert len(esms.calls) == 2


def test_a_rule_event_list_reports_invalid_entries(invoke_calls, esms: FakeEsms) -> None:
    # Given a list with a bad number and a request id given twice
    shared_id = f"order-{uuid.uuid4().hex[:8]}"
    detail = {
        "calls": [
            {**CALL, "request_id": shared_id},
            {"phone": "not a phone", "template_id": "1"},
            {"phone": "0987654321", "template_id": "1", "request_id": shared_id},
        ]
    }
    # When it is delivered
    report = invoke_calls(rule_event(detail))
    # Then the valid call is placed and the others reported
    assert [p["index"] for p in report["placed"]] == [0]
    assert [(e["index"], e["errors"][0]["field"]) for e in report["invalid"]] == [
        (1, "phone"),
        (2, "request_id"),
    ]
    assert len(esms.calls) == 1
