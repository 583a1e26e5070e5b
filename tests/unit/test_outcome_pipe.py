"""OutcomeEventsPipe's filter and input template (template.yaml) on the sample stream record in
`events/`: the one write that makes a call final becomes the sample outcome event, and no other
write of a call's life does."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.support.events import load_event
from tests.support.pipes import outcome_pipe, pipe_entries

pytestmark = pytest.mark.unit


def final_record() -> dict[str, Any]:
    [record] = load_event("outcome_stream_records.json")
    return dict(record)


def with_status(record: dict[str, Any], old: str | None, new: str | None) -> dict[str, Any]:
    record = copy.deepcopy(record)
    images = record["dynamodb"]
    for key, status in (("OldImage", old), ("NewImage", new)):
        if status is None:
            images.pop(key, None)
        else:
            images.setdefault(key, copy.deepcopy(images.get("NewImage") or images["OldImage"]))
            images[key]["status"] = {"S": status}
    record["eventName"] = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    return record


def test_the_sample_final_write_becomes_the_sample_outcome_event() -> None:
    # Given the stream record of a call's move to COMPLETED
    # When the pipe handles it
    [entry] = pipe_entries(outcome_pipe(), [final_record()])
    # Then it puts the sample outcome event on the bus
    expected = load_event("outcome_event.json")
    assert entry["Source"] == expected["source"]
    assert entry["DetailType"] == expected["detail-type"]
    assert json.loads(entry["Detail"]) == expected["detail"]


@pytest.mark.parametrize(
    ("old", "new", "published"),
    [
        ("ACCEPTED", "COMPLETED", True),
        ("PENDING", "FAILED", True),
        ("REPORT_PENDING", "EXPIRED", True),
        ("PENDING", "ACCEPTED", False),
        ("WAITING", "REPORT_PENDING", False),
        ("COMPLETED", "COMPLETED", False),  # a late or repeated callback kept in the history
        ("FAILED", "FAILED", False),
        (None, "PENDING", False),  # the call recorded
        ("COMPLETED", None, False),  # TTL removes the record
    ],
)
def test_only_the_move_into_a_final_status_is_published(
    old: str | None, new: str | None, published: bool
) -> None:
    record = with_status(final_record(), old, new)
    assert bool(pipe_entries(outcome_pipe(), [record])) is published


def test_a_record_without_status_is_not_published() -> None:
    # An orphan callback is kept on an item of its own, without a status
    record = final_record()
    for image in ("NewImage", "OldImage"):
        record["dynamodb"][image] = {"call_id": {"S": "orphan#x#y"}}
    assert pipe_entries(outcome_pipe(), [record]) == []


def test_the_event_carries_no_phone_number() -> None:
    [entry] = pipe_entries(outcome_pipe(), [final_record()])
    phone = final_record()["dynamodb"]["NewImage"]["spec"]["M"]["phone"]["S"]
    assert phone not in entry["Detail"] and phone[1:] not in entry["Detail"]
