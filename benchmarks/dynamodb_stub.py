"""DynamoDB at botocore's level: record a path's answers once (moto in-process), replay them.

Recording runs the path against moto's in-process DynamoDB and keeps every raw HTTP answer
(`response-received`). Replaying answers each request from that list in a `before-send` hook:
botocore still builds, signs and parses every request, the fake costs the same few microseconds
per request whoever sends it, and nothing else (moto's own work) is timed.

The same recording pass counts requests by operation (`before-call`, as
tests/support/dynamodb_requests.py does) and estimates capacity from item sizes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from botocore.awsrequest import AWSResponse

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}


class _Raw(io.BytesIO):
    def stream(self, **_: Any):  # what botocore reads a streamed body with
        yield self.getvalue()


@dataclass
class Answer:
    operation: str
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Recording:
    answers: list[Answer] = field(default_factory=list)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def operations(self) -> list[str]:
        return [op for op, _ in self.requests]

    def count(self, kinds: set[str]) -> int:
        return sum(1 for op in self.operations if op in kinds)


class Recorder:
    """Hooks on a client while a path runs against moto."""

    def __init__(self, client: Any) -> None:
        self._events = client.meta.events
        self.recording = Recording()

    def _request(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.recording.requests.append((model.name, params))

    def _response(self, response_dict: dict[str, Any], context: Any = None, **kw: Any) -> None:
        op = kw["event_name"].rsplit(".", 1)[-1]
        self.recording.answers.append(
            Answer(
                op,
                response_dict["status_code"],
                dict(response_dict["headers"]),
                response_dict["body"],
            )
        )

    def __enter__(self) -> Recording:
        self._events.register("provide-client-params.dynamodb", self._params)
        self._events.register("response-received.dynamodb", self._response)
        return self.recording

    def _params(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self._request(model, dict(params))

    def __exit__(self, *exc: Any) -> None:
        self._events.unregister("provide-client-params.dynamodb", self._params)
        self._events.unregister("response-received.dynamodb", self._response)


class Replayer:
    """A `before-send` hook answering from a recording, in order, on any number of clients."""

    def __init__(self) -> None:
        self._script: list[Answer] = []
        self._next = 0

    def play(self, recording: Recording) -> None:
        self._script = recording.answers
        self._next = 0

    def done(self) -> bool:
        return self._next == len(self._script)

    def __call__(self, request: Any, **_: Any) -> AWSResponse:
        answer = self._script[self._next]
        self._next += 1
        return AWSResponse(request.url, answer.status, answer.headers, _Raw(answer.body))

    def attach(self, client: Any) -> Callable[[], None]:
        client.meta.events.register_first("before-send.dynamodb", self)
        return lambda: client.meta.events.unregister("before-send.dynamodb", self)


# --- capacity, from DynamoDB's documented item size rules ------------------------------------


def attribute_size(value: dict[str, Any]) -> int:
    ((kind, v),) = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "B":
        return len(v)
    if kind == "N":
        digits = str(Decimal(v)).lstrip("-").replace(".", "").lstrip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in v)
    if kind == "NS":
        return sum(attribute_size({"N": n}) for n in v)
    if kind == "BS":
        return sum(len(b) for b in v)
    if kind == "L":
        return 3 + sum(1 + attribute_size(x) for x in v)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + attribute_size(x) for k, x in v.items())
    raise ValueError(kind)


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def capacity(
    recording: Recording, current_item: Callable[[str, dict[str, Any]], dict | None]
) -> tuple[float, float]:
    """(WCU, RCU) of the recorded requests: a write costs 1 WCU per started KB of the larger
    item (taken here as the item after the write, or as sent), twice in a transaction; a strongly
    consistent read 1 RCU per started 4 KB (eventually consistent: half)."""
    wcu = rcu = 0.0
    for op, params in recording.requests:
        if op == "PutItem":
            wcu += max(1, math.ceil(item_size(params["Item"]) / 1024))
        elif op in ("UpdateItem", "DeleteItem"):
            item = current_item(params["TableName"], params["Key"]) or params["Key"]
            wcu += max(1, math.ceil(item_size(item) / 1024))
        elif op == "TransactWriteItems":
            for entry in params["TransactItems"]:
                ((kind, body),) = entry.items()
                item = body.get("Item") or current_item(body["TableName"], body["Key"]) or {}
                wcu += 2 * max(1, math.ceil(item_size(item) / 1024))
        elif op == "GetItem":
            item = current_item(params["TableName"], params["Key"]) or {}
            units = max(1, math.ceil(item_size(item) / 4096))
            rcu += units if params.get("ConsistentRead") else units / 2
        elif op in READS:
            rcu += 1  # not used by these paths; a floor
    return wcu, rcu
