"""The calls queue in moto, made from template.yaml's CallsQueue, and Lambda's SQS event source
mapping played by hand: receive a batch, invoke the handler with the event Lambda would build,
delete what succeeded, and make the reported failures visible again at once (no waiting out the
visibility timeout)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3

from devstack.template import load_template

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


def queue_properties(logical_id: str) -> dict[str, Any]:
    return dict(load_template()["Resources"][logical_id]["Properties"])


def calls_queue_mapping() -> dict[str, Any]:
    """The SQS event of CallsFunction in the template (BatchSize, ScalingConfig, ...)."""
    events = load_template()["Resources"]["CallsFunction"]["Properties"]["Events"]
    (mapping,) = [event["Properties"] for event in events.values() if event["Type"] == "SQS"]
    return dict(mapping)


def parameter_default(name: str) -> Any:
    return load_template()["Parameters"][name]["Default"]


@dataclass
class CallsQueue:
    url: str
    arn: str
    dead_letter_url: str
    region: str = "ap-southeast-1"
    client: Any = field(default=None, repr=False)

    def receive(self, max_messages: int) -> list[dict[str, Any]]:
        answer = self.client.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=max_messages,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(answer.get("Messages", []))

    def event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """The event Lambda's SQS mapping invokes the function with for these messages."""
        return {"Records": [self._record(message) for message in messages]}

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = message.get("Attributes", {})
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {
                "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                "SentTimestamp": attributes.get("SentTimestamp", str(int(time.time() * 1000))),
                "SenderId": attributes.get("SenderId", "AROAEXAMPLE:CallsFunction"),
                "ApproximateFirstReceiveTimestamp": attributes.get(
                    "ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))
                ),
            },
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
            "eventSource": "aws:sqs",
            "eventSourceARN": self.arn,
            "awsRegion": self.region,
        }

    def settle(self, messages: list[dict[str, Any]], response: dict[str, Any]) -> list[str]:
        """What the mapping does with a batch's answer; returns the ids of the failed ones."""
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] in failed:
                self.client.change_message_visibility(
                    QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                self.client.delete_message(
                    QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"]
                )
        return sorted(failed)

    def depth(self, url: str | None = None) -> int:
        attributes = self.client.get_queue_attributes(
            QueueUrl=url or self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def bodies(self) -> list[str]:
        """Every message body now visible, left in the queue (visible again)."""
        messages: list[dict[str, Any]] = []
        while batch := self.receive(10):
            messages += batch
        for message in messages:
            self.client.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return [message["Body"] for message in messages]


def create_calls_queue(suffix: str) -> CallsQueue:
    """CallsQueue and its dead-letter queue with the template's settings (inside mock_aws)."""
    sqs = boto3.client("sqs")
    queue = queue_properties("CallsQueue")
    dead_letter = queue_properties("CallsDeadLetterQueue")
    dlq_url = sqs.create_queue(
        QueueName=f"calls-dlq-{suffix}",
        Attributes={"MessageRetentionPeriod": str(dead_letter["MessageRetentionPeriod"])},
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = queue["RedrivePolicy"]
    url = sqs.create_queue(
        QueueName=f"calls-{suffix}",
        Attributes={
            "VisibilityTimeout": str(queue["VisibilityTimeout"]),
            "MessageRetentionPeriod": str(queue["MessageRetentionPeriod"]),
            "RedrivePolicy": (
                f'{{"deadLetterTargetArn": "{dlq_arn}", '
                f'"maxReceiveCount": "{redrive["maxReceiveCount"]}"}}'
            ),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return CallsQueue(url=url, arn=arn, dead_letter_url=dlq_url, client=sqs)


BATCH_SIZE = calls_queue_mapping()["BatchSize"]


@dataclass
class Drained:
    batches: list[int] = field(default_factory=list)  # messages per invocation
    failures: list[str] = field(default_factory=list)  # message ids reported failed


def drain(queue: CallsQueue, invoke: Invoke, *, concurrency: int = 1) -> Drained:
    """Play the event source mapping until the queue is empty."""
    drained = Drained()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        run = map if concurrency == 1 else pool.map
        while True:
            batches: list[list[dict[str, Any]]] = []
            while len(batches) < concurrency and (messages := queue.receive(BATCH_SIZE)):
                batches.append(messages)
            if not batches:
                return drained
            answers = list(run(lambda batch: invoke(queue.event(batch)), batches))
            for messages, answer in zip(batches, answers, strict=True):
                drained.batches.append(len(messages))
                drained.failures += queue.settle(messages, answer)
