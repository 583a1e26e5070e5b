"""EventBridge Scheduler targets: one call or a list, placed once per run however often the run
is invoked, anew on the next run; invalid entries reported while the valid ones are placed."""

from __future__ import annotations

import io
import json
import re
from collections import Counter

import pytest

from esms_calls.domain.ids import REQUEST_ID_PATTERN
from esms_calls.triggers.call_lists import InvalidTrigger
from tests.support.fake_esms import FakeEsms
from tests.support.queues import CallsQueue
from tests.support.triggers import TODAY, TOMORROW, new_schedule, scheduled

CALL = {"phone": "0912345678", "template_id": "123"}


def test_a_scheduled_call_is_placed_once_per_run(
    invoke_calls, esms: FakeEsms, calls_queue: CallsQueue
) -> None:
    # Given a schedule that places one call
    schedule = new_schedule()
    # When today's run is invoked, invoked again (a retry), and tomorrow's run is invoked
    first = invoke_calls(scheduled(schedule, TODAY, call=CALL))
    retried = invoke_calls(scheduled(schedule, TODAY, call=CALL))
    tomorrow = invoke_calls(scheduled(schedule, TOMORROW, call=CALL))
    # Then the provider heard of today's call once and of tomorrow's once
    [today_call] = first["placed"]
    [replayed] = retried["placed"]
    [tomorrow_call] = tomorrow["placed"]
    assert today_call["status"] == "ACCEPTED" and not today_call["replayed"]
    assert replayed == {**today_call, "replayed": True}
    assert tomorrow_call["request_id"] != today_call["request_id"]
    assert tomorrow_call["call_id"] != today_call["call_id"]
    assert [sent["RequestID"] for sent in esms.calls] == [
        today_call["request_id"],
        tomorrow_call["request_id"],
    ]
    # And the derived request ids are valid request ids, named after the run
    assert re.fullmatch(REQUEST_ID_PATTERN, today_call["request_id"])
    assert today_call["request_id"] == first["request_id_prefix"] + "0"
    assert first["queued"] == 0 and calls_queue.depth() == 0


def test_the_same_instant_spelled_otherwise_is_the_same_run(invoke_calls, esms) -> None:
    # Given a schedule's run placed once
    schedule = new_schedule()
    invoke_calls(scheduled(schedule, "2026-11-28T02:00:00Z", call=CALL))
    # When it is invoked again with the same time in another offset
    again = invoke_calls(scheduled(schedule, "2026-11-28T09:00:00+07:00", call=CALL))
    # Then it is the same run: nothing new is placed
    assert again["placed"][0]["replayed"] is True
    assert len(esms.calls) == 1


def test_a_scheduled_list_is_placed_once_per_run(
    invoke_calls, esms: FakeEsms, calls_queue: CallsQueue
) -> None:
    # Given a schedule with a short list: defaults, bare numbers, an entry overriding a default
    schedule = new_schedule()
    body = {
        "defaults": {"template_id": "123", "max_retry": 1},
        "calls": ["0912345678", "+84 987 654 321", {"phone": "0398765432", "template_id": "7"}],
    }
    # When today's run is invoked twice and tomorrow's once
    first = invoke_calls(scheduled(schedule, TODAY, **body))
    retried = invoke_calls(scheduled(schedule, TODAY, **body))
    tomorrow = invoke_calls(scheduled(schedule, TOMORROW, **body))
    # Then each entry was placed once today (the retry replayed them) and once tomorrow
    assert [p["index"] for p in first["placed"]] == [0, 1, 2]
    assert all(not p["replayed"] for p in first["placed"])
    assert retried["placed"] == [{**p, "replayed": True} for p in first["placed"]]
    assert all(not p["replayed"] for p in tomorrow["placed"])
    assert len(esms.calls) == 6
    assert Counter(sent["Phone"] for sent in esms.calls) == {
        "0912345678": 2,
        "0987654321": 2,
        "0398765432": 2,
    }
    assert len({sent["RequestID"] for sent in esms.calls}) == 6
    # And defaults apply under each entry, which may override them
    by_phone = {sent["Phone"]: sent for sent in esms.calls[:3]}
    assert by_phone["0912345678"]["TemplateId"] == "123"
    assert by_phone["0398765432"]["TemplateId"] == "7"
    assert {sent["MaxRetry"] for sent in esms.calls} == {"1"}
    assert first["invalid"] == [] and first["queued"] == 0


def test_invalid_entries_are_reported_and_the_valid_ones_placed(
    invoke_calls,
    esms: FakeEsms,
    calls_queue: CallsQueue,
    log_lines: io.StringIO,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # Given a scheduled list with every kind of bad entry among two good ones
    calls = [
        "0912345678",  # 0 valid
        "12345",  # 1 not a phone number
        {"template_id": "9"},  # 2 no phone
        {"phone": "0987654321", "colour": "red"},  # 3 unknown field
        {"phone": "0398765432", "request_id": "mine"},  # 4 scheduled calls get derived ids
        "+84 912 345 678",  # 5 the same call as entry 0
        42,  # 6 not a call at all
        {"phone": "0356789012", "send_at": "2020-01-01T09:00:00"},  # 7 send time has passed
        "0961234567",  # 8 valid
    ]
    # When the run is invoked
    report = invoke_calls(
        scheduled(new_schedule(), TODAY, defaults={"template_id": "123"}, calls=calls)
    )
    # Then each bad entry is reported with the field at fault, and the good ones are placed
    invalid = {entry["index"]: entry for entry in report["invalid"]}
    assert {i: [e["field"] for e in entry["errors"]] for i, entry in invalid.items()} == {
        1: ["phone"],
        2: ["phone"],
        3: ["colour"],
        4: ["request_id"],
        5: ["call"],
        6: ["call"],
        7: ["send_at"],
    }
    assert "entry 0" in invalid[5]["errors"][0]["message"]
    assert [p["index"] for p in report["placed"]] == [0, 8]
    assert sorted(sent["Phone"] for sent in esms.calls) == ["0912345678", "0961234567"]
    assert report["received"] == 9
    # And the logs say so with the numbers masked, and the metric counts them
    output = log_lines.getvalue() + capfd.readouterr().out
    assert output.count("call list entry refused") == 7
    assert "098****321" in output
    for whole in ("0987654321", "0398765432", "0356789012", "84912345678"):
        assert whole not in output, whole
    [metrics] = [
        json.loads(line) for line in output.splitlines() if "CallListEntriesInvalid" in line
    ]
    assert metrics["CallListEntriesInvalid"] == [7.0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"call": CALL, "calls": [CALL]}, "calls", id="call-and-calls"),
        pytest.param({}, "calls", id="neither"),
        pytest.param({"calls": "0912345678"}, "calls", id="calls-not-a-list"),
        pytest.param(
            {"calls": [CALL], "defaults": {"request_id": "x"}}, "defaults", id="shared-id"
        ),
        pytest.param({"call": CALL, "extra": 1}, "extra", id="unknown-field"),
    ],
)
def test_a_malformed_input_fails_the_invocation_and_places_nothing(
    invoke_calls, esms, body, field
) -> None:
    # Given a Scheduler input that is not a call list
    event = scheduled(new_schedule(), TODAY, **body)
    # When it is invoked
    # Then the invocation fails (retried, then kept in the triggers' dead-letter queue)
    with pytest.raises(InvalidTrigger) as refused:
        invoke_calls(event)
    assert refused.value.fields == [field]
    assert esms.calls == []


@pytest.mark.parametrize(
    "scheduled_time",
    ["<aws.scheduler.scheduled-time>", "2026-11-28T09:00:00", "tomorrow"],
)
def test_a_scheduled_time_must_be_a_real_instant(invoke_calls, esms, scheduled_time) -> None:
    # Given an input whose context attribute was not filled in, or is not a zoned time
    event = scheduled(new_schedule(), scheduled_time, call=CALL)
    # When it is invoked, Then it fails: request ids cannot be derived from it
    with pytest.raises(InvalidTrigger) as refused:
        invoke_calls(event)
    assert refused.value.fields == ["scheduled_time"]
    assert esms.calls == []
