"""Lambda's SQS event source mapping, for the template's ``SQS`` function events.

Up to ``ScalingConfig.MaximumConcurrency`` pollers (never more than the function's environments)
long-poll the queue, gather a batch (``BatchSize``, ``MaximumBatchingWindowInSeconds``), invoke
the function with the event Lambda builds, then delete what succeeded: with
``ReportBatchItemFailures``, every message but the ``batchItemFailures``; after a function error,
none. What is not deleted comes back when its visibility timeout ends, and the queue's redrive
policy moves it to its dead-letter queue after ``maxReceiveCount`` receives, as on AWS.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devstack.console import Console
from devstack.pool import Invocation

Invoke = Callable[[str, dict[str, Any]], Invocation]

DEFAULT_BATCH_SIZE = 10
_RECEIVE_WAIT_SECONDS = 1  # long poll; also how soon a poller notices the stack stopping


@dataclass(frozen=True)
class Mapping:
    """One resolved SQS event of a function."""

    function: str
    event_name: str
    queue: str  # logical id
    queue_url: str
    queue_arn: str
    batch_size: int
    window_seconds: float
    report_failures: bool
    concurrency: int
    enabled: bool


def mapping_from(
    function: str,
    event_name: str,
    props: dict[str, Any],
    *,
    queue: str,
    queue_url: str,
    queue_arn: str,
    environments: int,
) -> Mapping:
    scaling = props.get("ScalingConfig") or {}
    maximum = int(scaling.get("MaximumConcurrency") or environments)
    return Mapping(
        function=function,
        event_name=event_name,
        queue=queue,
        queue_url=queue_url,
        queue_arn=queue_arn,
        batch_size=int(props.get("BatchSize") or DEFAULT_BATCH_SIZE),
        window_seconds=float(props.get("MaximumBatchingWindowInSeconds") or 0),
        report_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
        concurrency=max(1, min(maximum, environments)),
        enabled=props.get("Enabled", True) not in (False, "false", "False"),
    )


def sqs_event(mapping: Mapping, messages: list[dict[str, Any]], region: str) -> dict[str, Any]:
    """The event Lambda's SQS mapping invokes the function with for these messages."""
    now = str(int(time.time() * 1000))
    records = []
    for message in messages:
        attributes = message.get("Attributes", {})
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": attributes.get("SentTimestamp", now),
                    "SenderId": attributes.get("SenderId", "AROAEXAMPLE:devstack"),
                    "ApproximateFirstReceiveTimestamp": attributes.get(
                        "ApproximateFirstReceiveTimestamp", now
                    ),
                    **{
                        key: attributes[key]
                        for key in ("MessageGroupId", "MessageDeduplicationId", "SequenceNumber")
                        if key in attributes
                    },
                },
                "messageAttributes": _message_attributes(message.get("MessageAttributes", {})),
                "md5OfBody": message.get("MD5OfBody")
                or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324 - SQS's own
                "eventSource": "aws:sqs",
                "eventSourceARN": mapping.queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


def _message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """SQS API shape (``StringValue``) to the event's (``stringValue``)."""
    out: dict[str, Any] = {}
    for name, value in attributes.items():
        out[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value.get("DataType"),
        }
    return out


class QueuePoller(threading.Thread):
    """One concurrent poller of a mapping."""

    def __init__(
        self,
        mapping: Mapping,
        number: int,
        *,
        client: Any,
        region: str,
        invoke: Invoke,
        console: Console,
        stopping: threading.Event,
    ) -> None:
        super().__init__(name=f"sqs-{mapping.event_name}-{number}", daemon=True)
        self.mapping = mapping
        self.client = client
        self.region = region
        self.invoke = invoke
        self.console = console
        self.stopping = stopping

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                messages = self._batch()
                if messages and not self.stopping.is_set():
                    self._deliver(messages)
            except Exception as exc:  # moto going away at shutdown, or a bug: keep polling
                if self.stopping.is_set():
                    return
                self.console.line(
                    f"{self.console.stamp()} sqs {self.mapping.queue}: {type(exc).__name__}: {exc}"
                )
                self.stopping.wait(1.0)

    def _receive(self, count: int, wait: float) -> list[dict[str, Any]]:
        answer = self.client.receive_message(
            QueueUrl=self.mapping.queue_url,
            MaxNumberOfMessages=max(1, min(10, count)),
            WaitTimeSeconds=int(max(0, min(wait, _RECEIVE_WAIT_SECONDS))),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(answer.get("Messages", []))

    def _batch(self) -> list[dict[str, Any]]:
        mapping = self.mapping
        messages = self._receive(mapping.batch_size, _RECEIVE_WAIT_SECONDS)
        if not messages:
            return []
        deadline = time.monotonic() + mapping.window_seconds
        while len(messages) < mapping.batch_size and not self.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            more = self._receive(mapping.batch_size - len(messages), remaining)
            if not more and remaining < 1:
                break
            messages += more
        return messages

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        mapping = self.mapping
        started = time.monotonic()
        invocation = self.invoke(mapping.function, sqs_event(mapping, messages, self.region))
        failed: set[str] = set()
        if not invocation.ok:
            failed = {message["MessageId"] for message in messages}
        elif mapping.report_failures and isinstance(invocation.result, dict):
            items = invocation.result.get("batchItemFailures") or []
            failed = {str(item.get("itemIdentifier")) for item in items if isinstance(item, dict)}
            known = {message["MessageId"] for message in messages}
            if not failed <= known:  # Lambda treats an unknown identifier as a failed batch
                failed = known
        done = [message for message in messages if message["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            entries = [
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                for index, message in enumerate(done[start : start + 10])
            ]
            self.client.delete_message_batch(QueueUrl=mapping.queue_url, Entries=entries)
        console = self.console
        elapsed = console.paint(f"{(time.monotonic() - started) * 1000:.0f} ms", "dim")
        tag = console.function_tag(mapping.function, invocation.worker)
        if invocation.ok:
            outcome = console.paint("ok", "green")
        else:
            error = invocation.error or {}
            outcome = console.paint(f"error {error.get('errorType')}", "red")
        detail = f"{len(messages)} message(s)"
        if failed:
            detail += console.paint(f", {len(failed)} left for a retry", "yellow")
        console.line(f"{console.stamp()} sqs {mapping.queue} → {tag} {outcome} {elapsed} {detail}")


def describe(mapping: Mapping) -> str:
    extras = [f"batch {mapping.batch_size}", f"up to {mapping.concurrency} at once"]
    if mapping.report_failures:
        extras.append("partial batch failures")
    if not mapping.enabled:
        extras.append("DISABLED")
    return f"{mapping.queue} → {mapping.function} ({', '.join(extras)})"
