"""The sample events in `events/` for CallsFunction's non-HTTP triggers run through its handler,
as `make invoke` (or `sam local invoke -e`) runs them."""

from __future__ import annotations

import pytest

from esms_calls.triggers import UnrecognisedEvent
from tests.support.events import load_event
from tests.support.fake_esms import FakeEsms


@pytest.mark.parametrize(
    ("sample", "placed"),
    [
        ("schedule_call.json", 1),
        ("schedule_calls.json", 4),
        ("rule_call_requested.json", 1),
        ("rule_calls_requested.json", 2),
        ("rule_tts_calls_requested.json", 3),
        ("schedule_tts_calls.json", 2),
    ],
)
def test_each_trigger_sample_places_its_calls(
    invoke_calls, esms: FakeEsms, calls_queue, sample: str, placed: int
) -> None:
    report = invoke_calls(load_event(sample))
    assert report["invalid"] == [] and report["queued"] == 0
    assert [p["status"] for p in report["placed"]] == ["ACCEPTED"] * placed
    assert len(esms.calls) == placed


def test_the_queue_sample_places_its_call(invoke_calls, esms: FakeEsms) -> None:
    answer = invoke_calls(load_event("sqs_calls_queue.json"))
    assert answer == {"batchItemFailures": []}
    [sent] = esms.calls
    assert sent["RequestID"] == "sch:5b1c3f0e9a7d2c4b6e8f:42" and sent["Phone"] == "0912345678"


@pytest.mark.parametrize(
    "event",
    [
        {"action": "reconcile"},  # CallbackFunction's, not this one's
        {"action": "check_balance"},
        {"Records": [{"eventSource": "aws:dynamodb"}]},
        [],
    ],
)
def test_an_event_of_no_known_shape_fails(invoke_calls, esms: FakeEsms, event) -> None:
    with pytest.raises(UnrecognisedEvent):
        invoke_calls(event)
    assert esms.calls == []
