"""Counts DynamoDB requests as botocore sends them (event hooks), by operation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.clients import dynamodb_client

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}


class RequestCounter:
    def __init__(self) -> None:
        self.by_operation: Counter[str] = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.by_operation[model.name] += 1

    @property
    def writes(self) -> int:
        return sum(n for op, n in self.by_operation.items() if op in WRITES)

    @property
    def reads(self) -> int:
        return sum(n for op, n in self.by_operation.items() if op in READS)


@contextmanager
def counting_requests() -> Iterator[RequestCounter]:
    counter = RequestCounter()
    events = dynamodb_client().meta.events
    events.register("before-call.dynamodb", counter)
    try:
        yield counter
    finally:
        events.unregister("before-call.dynamodb", counter)
