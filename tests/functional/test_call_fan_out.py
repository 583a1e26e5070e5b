"""Long lists fan out through the calls queue and come back to CallsFunction in SQS batches:
every call placed exactly once (retried runs and duplicate deliveries included), at most one
provider request in flight per invocation, only the failed messages of a batch retried, and what
never succeeds ends in the dead-letter queue.

"Bounded" here: the queue's event source mapping runs at most MaximumConcurrency invocations at
once (template parameter CallsQueueMaximumConcurrency), each taking at most BatchSize messages and
placing them one after another, so the fan-out never has more than MaximumConcurrency provider
requests in flight, whatever the list's length. The drain below plays the mapping with that many
concurrent invocations and that batch size.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from esms_calls.domain.calls import CallSpec
from esms_calls.domain.orders import CallOrder, TriggerKind
from esms_calls.errors import QueueUnavailable
from esms_calls.observability import metrics
from esms_calls.storage.calls_queue import to_message
from tests.support.fake_esms import FakeEsms, raises, status
from tests.support.queues import (
    BATCH_SIZE,
    CallsQueue,
    drain,
    parameter_default,
    queue_properties,
)
from tests.support.triggers import TODAY, new_schedule, phones, scheduled

Invoke = Callable[[dict[str, Any]], dict[str, Any]]

MAX_CONCURRENCY = parameter_default("CallsQueueMaximumConcurrency")


@pytest.fixture
def separate_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    """Concurrent invocations share this process's Powertools Metrics, which Lambda never does
    (one invocation per execution environment at a time): serialise its buffer."""
    lock = threading.RLock()
    provider = metrics.provider
    for name in ("add_metric", "flush_metrics"):
        method = getattr(provider, name)

        def locked(*args: Any, _method: Callable[..., Any] = method, **kwargs: Any) -> Any:
            with lock:
                return _method(*args, **kwargs)

        monkeypatch.setattr(provider, name, locked)


def order(index: int, phone: str, request_id: str) -> CallOrder:
    return CallOrder(
        trigger=TriggerKind.SCHEDULE,
        index=index,
        request_id=request_id,
        spec=CallSpec(phone=phone, template_id="123"),
    )


def send(queue: CallsQueue, *orders: CallOrder) -> None:
    for entry in orders:
        queue.client.send_message(QueueUrl=queue.url, MessageBody=to_message(entry))


@pytest.fixture
def unique() -> Iterator[str]:
    import uuid

    yield uuid.uuid4().hex[:10]


def test_a_long_list_fans_out_and_each_call_is_placed_once(
    invoke_calls, esms: FakeEsms, calls_queue: CallsQueue, separate_metrics: None
) -> None:
    # Given a scheduled campaign of 150 numbers, far over the fan-out threshold
    numbers = phones(150)
    event = scheduled(new_schedule(), TODAY, defaults={"template_id": "123"}, calls=numbers)
    # When its run is invoked
    report = invoke_calls(event)
    # Then every call is queued, none placed yet
    assert report["queued"] == 150 and report["placed"] == [] and report["invalid"] == []
    assert esms.calls == [] and calls_queue.depth() == 150
    # When the queue is drained as the mapping would: concurrent invocations, bounded batches
    drained = drain(calls_queue, invoke_calls, concurrency=MAX_CONCURRENCY)
    # Then each number was called exactly once, under its run's request id
    assert sorted(sent["Phone"] for sent in esms.calls) == numbers
    prefix = report["request_id_prefix"]
    assert sorted(sent["RequestID"] for sent in esms.calls) == sorted(
        f"{prefix}{i}" for i in range(150)
    )
    # (a message is handed back when its invocation runs short of time, as on a loaded machine:
    # the queue delivers it again, and it is still placed once; each was handled once more)
    assert calls_queue.depth() == 0 and calls_queue.depth(calls_queue.dead_letter_url) == 0
    # And the work stayed within its bounds
    assert max(drained.batches) <= BATCH_SIZE
    assert sum(drained.batches) == 150 + len(drained.failures)
    assert 1 <= esms.max_in_flight <= MAX_CONCURRENCY
    # When the run is invoked again (a retry after a timeout, say) and drained again
    assert invoke_calls(event)["queued"] == 150
    drain(calls_queue, invoke_calls, concurrency=MAX_CONCURRENCY)
    # Then nothing more reached the provider
    assert len(esms.calls) == 150


def test_one_invocation_places_its_batch_one_call_at_a_time(
    invoke_calls, esms: FakeEsms, calls_queue: CallsQueue
) -> None:
    # Given a list just over the threshold
    count = parameter_default("FanOutThreshold") + 1
    invoke_calls(
        scheduled(new_schedule(), TODAY, defaults={"template_id": "1"}, calls=phones(count))
    )
    # When one invocation at a time drains it
    drained = drain(calls_queue, invoke_calls)
    # Then no invocation ever had two provider requests in flight
    assert esms.max_in_flight == 1
    assert len(esms.calls) == count and max(drained.batches) <= BATCH_SIZE


def test_an_sqs_batch_with_one_failing_message_retries_only_it(
    invoke_calls, esms: FakeEsms, calls_queue: CallsQueue, unique: str
) -> None:
    # Given three queued calls, the second of which the provider will not answer in time
    orders = [order(i, phone, f"sqs-{unique}-{i}") for i, phone in enumerate(phones(3, 500))]
    send(calls_queue, *orders)
    esms.then(lambda r: httpx.Response(200, json={"CodeResult": "100", "SMSID": "s-0"}))
    esms.then(raises(httpx.ReadTimeout))
    # When they arrive in one batch
    messages = calls_queue.receive(10)
    answer = invoke_calls(calls_queue.event(messages))
    # Then only the second message is reported failed
    by_request = {json.loads(m["Body"])["request_id"]: m["MessageId"] for m in messages}
    assert answer == {"batchItemFailures": [{"itemIdentifier": by_request[f"sqs-{unique}-1"]}]}
    calls_queue.settle(messages, answer)
    # When SQS delivers it again
    retry = calls_queue.receive(10)
    assert [json.loads(m["Body"])["request_id"] for m in retry] == [f"sqs-{unique}-1"]
    assert retry[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    assert invoke_calls(calls_queue.event(retry)) == {"batchItemFailures": []}
    # Then the provider heard of the first and third once, and the second twice (the retry
    # reuses the same request id, so the provider's own check guards it)
    assert Counter(sent["RequestID"] for sent in esms.calls) == {
        f"sqs-{unique}-0": 1,
        f"sqs-{unique}-1": 2,
        f"sqs-{unique}-2": 1,
    }


def test_a_message_delivered_twice_is_placed_once(
    invoke_calls, esms: FakeEsms, calls_queue: CallsQueue, unique: str
) -> None:
    # Given the same queued call sent twice (a retried fan-out)
    entry = order(0, "0912345678", f"dup-{unique}")
    send(calls_queue, entry, entry)
    # When both are delivered, in one batch or in two
    drained = drain(calls_queue, invoke_calls)
    # Then the provider heard of it once (the second one was answered from the store, or
    # reported in flight and answered from the store on its retry)
    assert [sent["RequestID"] for sent in esms.calls] == [f"dup-{unique}"]
    assert calls_queue.depth() == 0 and len(drained.batches) >= 1


def test_a_refused_call_is_done_not_retried(
    invoke_calls, esms: FakeEsms, calls_queue: CallsQueue, unique: str
) -> None:
    # Given a queued call the provider refuses (a definitive outcome)
    esms.then(lambda r: httpx.Response(200, json={"CodeResult": "108", "ErrorMessage": "x"}))
    send(calls_queue, order(0, "0912345678", f"refused-{unique}"))
    # When it is delivered
    drained = drain(calls_queue, invoke_calls)
    # Then it is consumed, not retried
    assert drained.failures == [] and len(esms.calls) == 1
    assert calls_queue.depth() == 0


def test_what_keeps_failing_ends_in_the_dead_letter_queue(
    invoke_calls, esms: FakeEsms, calls_queue: CallsQueue, unique: str
) -> None:
    # Given a queued call and a provider that keeps failing, and a message that is not ours
    max_receives = int(queue_properties("CallsQueue")["RedrivePolicy"]["maxReceiveCount"])
    esms.then(*[status(503)] * (max_receives * 3))
    send(calls_queue, order(0, "0912345678", f"dlq-{unique}"))
    calls_queue.client.send_message(QueueUrl=calls_queue.url, MessageBody='{"phone": "0912"}')
    # When the mapping keeps delivering them
    drained = drain(calls_queue, invoke_calls)
    # Then each was retried up to the queue's maxReceiveCount, then moved to the DLQ
    assert len(drained.failures) == 2 * max_receives
    assert calls_queue.depth() == 0
    assert calls_queue.depth(calls_queue.dead_letter_url) == 2


def test_a_short_list_queues_what_could_not_be_placed_now(
    invoke_calls, esms: FakeEsms, calls_queue: CallsQueue
) -> None:
    # Given a short list and a provider that times out on the second call
    esms.then(
        lambda r: httpx.Response(200, json={"CodeResult": "100", "SMSID": "s-1"}),
        raises(httpx.ReadTimeout),
    )
    numbers = phones(3, 900)
    # When its run is invoked
    report = invoke_calls(
        scheduled(new_schedule(), TODAY, defaults={"template_id": "1"}, calls=numbers)
    )
    # Then the first is placed, and the second and the rest are queued for a retry
    assert [p["index"] for p in report["placed"]] == [0] and report["queued"] == 2
    # When the queue is drained
    drain(calls_queue, invoke_calls)
    # Then every number was called; the timed-out one again under the same request id
    assert Counter(sent["Phone"] for sent in esms.calls) == {
        numbers[0]: 1,
        numbers[1]: 2,
        numbers[2]: 1,
    }
    assert len({sent["RequestID"] for sent in esms.calls}) == 3


def test_a_long_list_without_a_queue_fails_and_places_nothing(invoke_calls, esms: FakeEsms) -> None:
    # Given no calls queue configured (CALLS_QUEUE_URL unset) and a list over the threshold
    numbers = phones(parameter_default("FanOutThreshold") + 1)
    event = scheduled(new_schedule(), TODAY, defaults={"template_id": "1"}, calls=numbers)
    # When its run is invoked, Then the invocation fails (its trigger retries it) and no call
    # was placed
    with pytest.raises(QueueUnavailable):
        invoke_calls(event)
    assert esms.calls == []
