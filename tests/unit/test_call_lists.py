"""Pieces of the trigger paths that need no AWS: the settings they read, the request ids they
derive, and the calls queue's sending (SendMessageBatch answers scripted)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import ValidationError

from esms_calls.domain.calls import CallSpec
from esms_calls.domain.ids import REQUEST_ID_PATTERN
from esms_calls.domain.orders import CallOrder, TriggerKind
from esms_calls.errors import QueueUnavailable
from esms_calls.settings import Settings
from esms_calls.storage.calls_queue import CallsQueue, to_message
from esms_calls.usecases.place_calls import request_id_prefix

pytestmark = pytest.mark.unit

BASE = {
    "CALLS_TABLE_NAME": "calls",
    "DEDUPE_TABLE_NAME": "dedupe",
    "ESMS_BASE_URL": "https://esms.test/json",
    "ESMS_API_KEY": "k",
    "ESMS_SECRET_KEY": "s",
    "CALLBACK_SIGNING_KEY": "x",
    "PUBLIC_BASE_URL": "https://calls.test",
}
QUEUE_URL = "https://sqs.ap-southeast-1.amazonaws.com/123456789012/esms-calls-calls"


def test_the_queue_and_threshold_are_read_and_checked() -> None:
    settings = Settings.from_environ(
        {**BASE, "CALLS_QUEUE_URL": QUEUE_URL, "FAN_OUT_THRESHOLD": "25"}
    )
    assert (settings.calls_queue_url, settings.fan_out_threshold) == (QUEUE_URL, 25)
    assert Settings.from_environ(BASE).calls_queue_url is None  # CallbackFunction has none
    for bad in (
        {"FAN_OUT_THRESHOLD": "-1"},
        {"FAN_OUT_THRESHOLD": "5000"},
        {"CALLS_QUEUE_URL": "calls"},
    ):
        with pytest.raises(ValidationError):
            Settings.from_environ({**BASE, **bad})


@pytest.mark.parametrize("trigger", list(TriggerKind))
def test_derived_request_ids_are_valid_and_depend_on_the_run_only(trigger: TriggerKind) -> None:
    prefix = request_id_prefix(trigger, "arn:aws:scheduler:...:schedule/default/x\n1795831200.000")
    assert prefix == request_id_prefix(
        trigger, "arn:aws:scheduler:...:schedule/default/x\n1795831200.000"
    )
    assert prefix != request_id_prefix(
        trigger, "arn:aws:scheduler:...:schedule/default/x\n1795917600.000"
    )
    assert re.fullmatch(REQUEST_ID_PATTERN, f"{prefix}99999")


def order(index: int) -> CallOrder:
    spec = CallSpec(phone="0912345678", template_id="1")
    return CallOrder(
        trigger=TriggerKind.SCHEDULE, index=index, request_id=f"sch:abc:{index}", spec=spec
    )


def test_a_message_maps_back_to_its_order() -> None:
    assert CallOrder.model_validate_json(to_message(order(7))) == order(7)
    with pytest.raises(ValidationError):
        CallOrder.model_validate_json(json.dumps({"v": 2, "request_id": "x"}))


class ScriptedSqs:
    """SendMessageBatch answers: the ids to fail on each call, in turn."""

    def __init__(self, *failures: list[dict[str, Any]]) -> None:
        self.failures = list(failures)
        self.sent: list[list[str]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.sent.append([entry["Id"] for entry in Entries])
        failing = self.failures.pop(0) if self.failures else []
        ids = {entry["Id"] for entry in Entries}
        return {"Failed": [f for f in failing if f["Id"] in ids]}


def test_orders_go_out_ten_to_a_request() -> None:
    client = ScriptedSqs()
    CallsQueue(client, QUEUE_URL).send([order(i) for i in range(25)])
    assert sorted(len(batch) for batch in client.sent) == [5, 10, 10]


def test_entries_the_queue_failed_are_sent_again() -> None:
    client = ScriptedSqs([{"Id": "3", "SenderFault": False, "Code": "InternalError"}])
    CallsQueue(client, QUEUE_URL).send([order(i) for i in range(5)])
    assert client.sent == [["0", "1", "2", "3", "4"], ["3"]]


def test_entries_refused_for_our_fault_or_failing_every_round_fail_the_send() -> None:
    ours = [{"Id": "0", "SenderFault": True, "Code": "InvalidMessageContents"}]
    with pytest.raises(QueueUnavailable):
        CallsQueue(ScriptedSqs(ours), QUEUE_URL).send([order(0)])
    theirs = [{"Id": "0", "SenderFault": False, "Code": "InternalError"}]
    client = ScriptedSqs(theirs, theirs, theirs)
    with pytest.raises(QueueUnavailable):
        CallsQueue(client, QUEUE_URL).send([order(0)])
    assert len(client.sent) == 3


def test_without_a_queue_nothing_can_be_queued() -> None:
    CallsQueue(ScriptedSqs(), None).send([])  # nothing to send: fine
    with pytest.raises(QueueUnavailable):
        CallsQueue(ScriptedSqs(), None).send([order(0)])
