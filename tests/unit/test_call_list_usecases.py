"""PlaceCalls (a trigger's list) and PlaceQueuedCall (one queued message) with in-memory ports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from esms_calls.domain.calls import CallSpec, CallStatus, TtsScript
from esms_calls.domain.orders import CallOrder, ListEntry, TriggerKind
from esms_calls.domain.send_date import to_provider_format
from esms_calls.errors import ProviderUnavailable, QueueUnavailable
from esms_calls.storage.calls_queue import to_message
from esms_calls.usecases.attempt import Disposition
from esms_calls.usecases.place_call import PlaceCall, PlacementTimes
from esms_calls.usecases.place_calls import (
    PlaceCalls,
    PlaceCallsCommand,
    SensitiveCallsNotQueued,
    request_id_prefix,
)
from esms_calls.usecases.place_queued_call import PlaceQueuedCall, RetryLater
from tests.support.fakes import (
    FakeBatches,
    FakeCalls,
    FakeGuard,
    FakeProvider,
    FakeQueue,
    calling_rules,
    fingerprint,
    fixed_clock,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
RUN = "arn:aws:scheduler:ap-southeast-1:123456789012:schedule/default/x\n1795831200.000"
PREFIX = request_id_prefix(TriggerKind.SCHEDULE, RUN)


def spec(i: int, **changes: str) -> CallSpec:
    return CallSpec(phone=f"09{i:08d}", template_id="123", **changes)


class World:
    def __init__(self, threshold: int = 10) -> None:
        self.calls = FakeCalls()
        self.provider = FakeProvider()
        self.queue = FakeQueue()
        self.place_call = PlaceCall(
            calls=self.calls,
            provider=self.provider,
            callback_url=lambda call_id: f"https://calls.test/{call_id}",
            fingerprint=fingerprint,
            guard=FakeGuard(calls=self.calls),
            rules=calling_rules(),
            times=PlacementTimes(
                request_id_ttl_seconds=86400, check_after_seconds=900, retention_seconds=90
            ),
            clock=fixed_clock(NOW),
        )
        self.batches = FakeBatches()
        self.place_calls = PlaceCalls(
            place_call=self.place_call,
            queue=self.queue,
            batches=self.batches,
            fan_out_threshold=threshold,
            retention_seconds=90,
            clock=fixed_clock(NOW),
        )


def command(*specs: CallSpec) -> PlaceCallsCommand:
    entries = [ListEntry(index=i, spec=s) for i, s in enumerate(specs)]
    return PlaceCallsCommand(
        trigger=TriggerKind.SCHEDULE, run=RUN, received=len(specs), entries=entries, invalid=[]
    )


def plenty_of_time() -> float:
    return 300.0


def test_a_short_list_is_placed_in_turn_under_ids_derived_from_the_run() -> None:
    world = World()
    report = world.place_calls(command(spec(1), spec(2), spec(3)), remaining_seconds=plenty_of_time)
    assert [sent.request_id for sent in world.provider.sent] == [f"{PREFIX}{i}" for i in range(3)]
    assert [p.status for p in report.placed] == [CallStatus.ACCEPTED] * 3
    assert report.queued == 0 and world.queue.sent == []
    # And the same run again places nothing more: every entry is replayed
    again = world.place_calls(command(spec(1), spec(2), spec(3)), remaining_seconds=plenty_of_time)
    assert len(world.provider.sent) == 3 and all(p.replayed for p in again.placed)


def test_a_list_over_the_threshold_goes_to_the_queue_whole() -> None:
    world = World(threshold=2)
    report = world.place_calls(command(spec(1), spec(2), spec(3)), remaining_seconds=plenty_of_time)
    assert world.provider.sent == []
    assert [o.request_id for o in world.queue.sent] == [f"{PREFIX}{i}" for i in range(3)]
    assert report.queued == 3


def test_a_failure_that_may_pass_queues_that_entry_and_every_one_after_it() -> None:
    world = World()
    world.provider.then(ProviderUnavailable("down"))
    report = world.place_calls(command(spec(1), spec(2)), remaining_seconds=plenty_of_time)
    assert [o.index for o in world.queue.sent] == [0, 1] and report.queued == 2
    assert report.placed == []


def test_time_running_short_queues_the_rest() -> None:
    world = World()
    clock = iter([300.0, 300.0, 5.0])
    report = world.place_calls(command(spec(1), spec(2)), remaining_seconds=lambda: next(clock))
    assert [p.index for p in report.placed] == [0] and [o.index for o in world.queue.sent] == [1]


def test_invalid_and_repeated_entries_are_reported_and_the_others_placed() -> None:
    world = World()
    past = to_provider_format(NOW - timedelta(hours=1))
    report = world.place_calls(
        command(spec(1), spec(1), spec(2, send_date=past), spec(3)),
        remaining_seconds=plenty_of_time,
    )
    assert {(e.index, e.errors[0].field) for e in report.invalid} == {(1, "call"), (2, "send_at")}
    assert [p.index for p in report.placed] == [0, 3]
    # And an invalid entry's number is masked in the report
    assert all(e.phone and "*" in e.phone for e in report.invalid)


def test_a_queue_that_refuses_fails_the_invocation() -> None:
    world = World(threshold=0)
    world.queue.failure = QueueUnavailable("refused")
    with pytest.raises(QueueUnavailable):
        world.place_calls(command(spec(1)), remaining_seconds=plenty_of_time)


def otp(i: int) -> CallSpec:
    return CallSpec(
        phone=f"09{i:08d}", template_id="OTP1", tts=TtsScript.of((f"{i:06d}",), sensitive=True)
    )


def test_a_list_that_fans_out_refuses_its_sensitive_entries_and_queues_the_rest() -> None:
    # Given a list over the threshold holding a one-time code call
    world = World(threshold=2)
    report = world.place_calls(command(spec(1), otp(2), spec(3)), remaining_seconds=plenty_of_time)
    # Then the sensitive entry is refused (never put on the queue), the others are queued
    assert [o.index for o in world.queue.sent] == [0, 2]
    [refused] = report.invalid
    assert (refused.index, refused.errors[0].field) == (1, "tts.sensitive")


def test_a_short_list_that_would_queue_a_sensitive_call_fails_instead() -> None:
    # Given a short list whose first placing fails for a reason that may pass
    world = World()
    world.provider.then(ProviderUnavailable("down"))
    # When the entries from there on would have to be queued, one of them sensitive
    with pytest.raises(SensitiveCallsNotQueued):
        world.place_calls(command(spec(1), otp(2)), remaining_seconds=plenty_of_time)
    # Then nothing is queued: the trigger retries the whole list
    assert world.queue.sent == []
    # And a short list of sensitive calls is placed in turn as usual
    report = World().place_calls(command(otp(1), otp(2)), remaining_seconds=plenty_of_time)
    assert [p.status for p in report.placed] == [CallStatus.ACCEPTED] * 2


def test_the_calls_queue_refuses_to_carry_a_sensitive_call() -> None:
    sensitive = CallOrder(trigger=TriggerKind.RULE, index=0, request_id="r-1", spec=otp(1))
    with pytest.raises(ValueError):
        to_message(sensitive)


def order(i: int, **changes: str) -> CallOrder:
    return CallOrder(
        trigger=TriggerKind.SCHEDULE, index=i, request_id=f"{PREFIX}{i}", spec=spec(i, **changes)
    )


def test_a_queued_call_is_placed_once_however_often_it_is_delivered() -> None:
    world = World()
    place_queued_call = PlaceQueuedCall(place_call=world.place_call, batches=world.batches)
    first = place_queued_call(order(0), remaining_seconds=60, receive_count=1)
    second = place_queued_call(order(0), remaining_seconds=60, receive_count=2)
    assert first.disposition is second.disposition is Disposition.DONE
    assert len(world.provider.sent) == 1


def test_a_queued_call_that_may_succeed_later_is_retried() -> None:
    world = World()
    world.provider.then(ProviderUnavailable("down"))
    with pytest.raises(RetryLater):
        PlaceQueuedCall(place_call=world.place_call, batches=world.batches)(
            order(0), remaining_seconds=60, receive_count=1
        )


def test_a_queued_call_that_cannot_be_placed_as_asked_is_consumed() -> None:
    world = World()
    past = to_provider_format(NOW - timedelta(hours=1))
    result = PlaceQueuedCall(place_call=world.place_call, batches=world.batches)(
        order(0, send_date=past), remaining_seconds=60, receive_count=1
    )
    assert result.disposition is Disposition.INVALID
    assert result.error is not None and result.error.field == "send_at"
    assert world.provider.sent == []
