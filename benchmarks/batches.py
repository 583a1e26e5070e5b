"""`make bench`, the read side: requests and read capacity of a 10,000-call batch summary and of
one page of each listing; write capacity per placed call and per callback, the indexes'
included; the time the local stack takes to accept a 10,000-entry batch.

Index writes are counted from the items before and after each write, by DynamoDB's rule: an
index is written when the item enters or leaves it, or when one of the attributes it holds
(keys and projection, template.yaml) changes; a key change is a delete and a put. Capacity is
computed from the documented item size rules (dynamodb_stub.item_size): reads 4 KB units, half
for eventually consistent ones (index queries always are), a Query rounds the sum of its page,
BatchGetItem each item; writes 1 KB units.

Run alone: `.venv/bin/python benchmarks/batches.py` (no build needed).
"""

from __future__ import annotations

import math
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BATCH_SIZE = 10_000


def _indexes() -> dict[str, tuple[list[str], list[str] | None]]:
    """Each CallsTable index: its key attributes, and its projected attributes (None: all)."""
    from devstack.template import table_definitions

    table = table_definitions()["CallsTable"]
    found = {}
    for index in table["GlobalSecondaryIndexes"]:
        keys = [k["AttributeName"] for k in index["KeySchema"]]
        projection = index["Projection"]
        kind = projection["ProjectionType"]
        extra = [] if kind == "KEYS_ONLY" else projection.get("NonKeyAttributes")
        found[index["IndexName"]] = (keys, None if kind == "ALL" else [*keys, "call_id", *extra])
    return found


def _entry(item: dict[str, Any] | None, keys: list[str], attrs: list[str] | None) -> dict | None:
    if not item or not all(k in item for k in keys):
        return None
    return dict(item) if attrs is None else {a: item[a] for a in attrs if a in item}


def index_writes(before: dict | None, after: dict | None) -> dict[str, tuple[int, float]]:
    """(index writes, their WCU) that turning `before` into `after` costs, by index."""
    from dynamodb_stub import item_size

    found = {}
    for name, (keys, attrs) in _indexes().items():
        old, new = _entry(before, keys, attrs), _entry(after, keys, attrs)
        if old == new:
            continue
        moved = old is not None and new is not None and any(old[k] != new[k] for k in keys)
        entries = [e for e in (old if moved else None, new or old) if e is not None]
        found[name] = (
            len(entries),
            float(sum(max(1, math.ceil(item_size(e) / 1024)) for e in entries)),
        )
    return found


@contextmanager
def _hooked(client: Any, before: Any, after: Any) -> Iterator[None]:
    """`before` sees each DynamoDB request's parameters, `after` its answer, while inside."""
    events = client.meta.events
    events.register("provide-client-params.dynamodb", before)
    events.register("after-call.dynamodb", after)
    try:
        yield
    finally:
        events.unregister("provide-client-params.dynamodb", before)
        events.unregister("after-call.dynamodb", after)


@contextmanager
def watching_writes(client: Any, raw: Any, table: str) -> Iterator[dict[str, float]]:
    """Count write requests on `client` and the CallsTable and index writes they cause."""
    from dynamodb_stub import item_size

    totals: dict[str, Any] = {"requests": 0, "table_wcu": 0.0, "by_index": Counter()}
    pending: list[tuple[str, dict, dict | None]] = []

    def keys_of(operation: str, params: dict) -> list[tuple[str, dict]]:
        if operation == "TransactWriteItems":
            out = []
            for entry in params["TransactItems"]:
                ((_, body),) = entry.items()
                key = body.get("Key") or {"call_id": body["Item"].get("call_id")}
                if body["TableName"] == table:
                    out.append((table, key))
            return out
        key = params.get("Key") or {"call_id": params["Item"].get("call_id")}
        return [(table, key)] if params["TableName"] == table else []

    def item(table: str, key: dict) -> dict | None:
        return raw.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

    def before(model: Any, params: dict, **_: Any) -> None:
        if model.name in ("PutItem", "UpdateItem", "TransactWriteItems"):
            totals["requests"] += 1
            pending.extend((t, k, item(t, k)) for t, k in keys_of(model.name, params))

    def after(**_: Any) -> None:
        while pending:
            table, key, old = pending.pop()
            new = item(table, key)
            if new is not None or old is not None:
                units = max(1, math.ceil(item_size(new or old or {}) / 1024))
                totals["table_wcu"] += units
            for name, (writes, _wcu) in index_writes(old, new).items():
                totals["by_index"][name] += writes

    with _hooked(client, before, after):
        yield totals


@contextmanager
def watching_reads(client: Any, known: dict[str, dict]) -> Iterator[dict[str, float]]:
    """Count read requests and their RCU on `client` (index entries sized from `known`, the
    items written, by call id)."""
    from dynamodb_stub import item_size

    totals = {"requests": 0, "rcu": 0.0}
    queries: list[dict] = []
    indexes = _indexes()

    def before(model: Any, params: dict, **_: Any) -> None:
        if model.name in ("Query", "BatchGetItem", "GetItem", "Scan"):
            totals["requests"] += 1
            if model.name == "Scan":
                raise AssertionError("a Scan on a request path")
            queries.append({"op": model.name, "params": params})

    def after(parsed: dict, model: Any, **_: Any) -> None:
        if not queries:
            return
        request = queries.pop()
        if request["op"] == "Query":
            keys, attrs = indexes[request["params"]["IndexName"]]
            size = 0
            for found in parsed.get("Items", []):
                full = known.get(found["call_id"]["S"])
                size += item_size(_entry(full, keys, attrs) or {})
            totals["rcu"] += max(1, math.ceil(size / 4096)) / 2
        elif request["op"] == "BatchGetItem":
            for found in parsed.get("Responses", {}).values():
                totals["rcu"] += sum(max(1, math.ceil(item_size(i) / 4096)) / 2 for i in found)
        else:
            found = parsed.get("Item") or {}
            units = max(1, math.ceil(item_size(found) / 4096))
            consistent = request["params"].get("ConsistentRead")
            totals["rcu"] += units if consistent else units / 2

    with _hooked(client, before, after):
        yield totals


def _completed(
    raw: Any, table: str, batch_id: str | None, n: int, when: datetime
) -> dict[str, dict]:
    """n final calls as a batch leaves them (answered, a key pressed, a price), fast: written
    as items directly, the shape call_item and the callback's update give them."""
    from esms_calls.domain.calls import Call, CallOutcome, CallResult, CallSpec, CallStatus
    from esms_calls.storage import items
    from esms_calls.storage.dynamodb import to_attributes

    written = {}
    epoch = int(when.timestamp())
    for i in range(n):
        call = Call(
            call_id=uuid.uuid4().hex,
            request_id=f"batch:{batch_id}:{i}" if batch_id else uuid.uuid4().hex,
            spec=CallSpec(phone=f"09{i:08d}", template_id="123"),
            status=CallStatus.COMPLETED,
            sms_id=str(uuid.uuid4()),
            created_at=when,
            updated_at=when,
            batch_id=batch_id,
        )
        item = items.call_item(call, check_after=epoch, expires_at=epoch + 86400)
        result = CallResult(
            call_status=CallOutcome.ANSWERED,
            duration_seconds=13,
            ivr="1",
            price="300.0000",
            sent_result=1,
            cid="02871002454",
            send_status=5,
        )
        item.update(
            result=items.result_item(result),
            outcome="ANSWERED",
            callbacks_received=3,
            report_digests={uuid.uuid4().hex[:24] for _ in range(3)},
            history=[
                {"at": "x", "source": "CALLBACK", "raw": {"SendStatus": str(s)}} for s in (2, 7, 5)
            ],
        )
        raw.put_item(TableName=table, Item=to_attributes(item))
        written[call.call_id] = to_attributes(item)
    return written


def in_process_rows() -> list[tuple]:
    import boto3
    from moto import mock_aws
    from warm import _environment, _load_function

    from devstack.template import create_tables
    from esms_calls import dependencies
    from tests.support import events
    from tests.support.callbacks import appended, callback_event, report_query
    from tests.support.clients import dynamodb_client
    from tests.support.fake_esms import FakeEsms, body_of
    from tests.support.lambda_context import FakeLambdaContext

    rows: list[tuple] = []
    with mock_aws():
        suffix = uuid.uuid4().hex[:8]
        tables = {"CallsTable": f"calls-{suffix}", "DedupeTable": f"dedupe-{suffix}"}
        _environment(tables)
        raw = boto3.client("dynamodb", region_name="ap-southeast-1")
        create_tables(raw, tables)
        sqs = boto3.client("sqs", region_name="ap-southeast-1")
        import os

        os.environ["CALLS_QUEUE_URL"] = sqs.create_queue(QueueName=f"q-{suffix}")["QueueUrl"]
        dependencies.reset()
        fake = FakeEsms()
        dependencies.use_esms_transport(fake.transport())
        calls_app, callback_app = _load_function("calls"), _load_function("callback")
        ctx = FakeLambdaContext(timeout_seconds=10**6)
        cb_ctx = FakeLambdaContext(function_name="CallbackFunction", timeout_seconds=10**6)
        ours = dynamodb_client()
        table = tables["CallsTable"]

        def invoke(app: Any, event: dict, context: Any = ctx) -> dict:
            answer = app.lambda_handler(event, context)
            assert answer["statusCode"] in (200, 202), answer
            return answer

        # Writes: a single call and a batch's call placed, then its three callbacks
        for label, extra in (("call", {}), ("batch call", {"batch_id": "bench-writes"})):
            from esms_calls.domain.calls import CallSpec
            from esms_calls.domain.orders import CallOrder, TriggerKind
            from esms_calls.storage.calls_queue import to_message

            with watching_writes(ours, raw, table) as placing:
                if extra:
                    order = CallOrder(
                        trigger=TriggerKind.BATCH,
                        index=0,
                        request_id=f"batch:bench-writes:{uuid.uuid4().hex[:6]}",
                        spec=CallSpec(phone="0912345678", template_id="1"),
                        **extra,
                    )
                    record = {
                        "messageId": "m1",
                        "receiptHandle": "r",
                        "body": to_message(order),
                        "attributes": {
                            "ApproximateReceiveCount": "1",
                            "SentTimestamp": "1",
                            "SenderId": "x",
                            "ApproximateFirstReceiveTimestamp": "1",
                        },
                        "messageAttributes": {},
                        "md5OfBody": "x",
                        "eventSource": "aws:sqs",
                        "eventSourceARN": "arn:aws:sqs:x:1:q",
                        "awsRegion": "ap-southeast-1",
                    }
                    calls_app.lambda_handler({"Records": [record]}, ctx)
                else:
                    invoke(
                        calls_app, events.post_calls({"phone": "0912345678", "template_id": "1"})
                    )
            request = fake.calls[-1]
            listed = body_of(invoke(calls_app, events.list_calls({"phone": "0912345678"})))
            sms_id = next(
                i["sms_id"] for i in listed["items"] if i["request_id"] == request["RequestID"]
            )
            with watching_writes(ours, raw, table) as callbacks:
                for status in (2, 7, 5):
                    url = appended(request["CallbackUrl"], report_query(sms_id, send_status=status))
                    invoke(callback_app, callback_event(url), cb_ctx)
            for what, totals, per in (("place a", placing, 1), ("callback, per", callbacks, 3)):
                by_index = ", ".join(
                    f"{name} {n / per:g}" for name, n in sorted(totals["by_index"].items())
                )
                rows.append(
                    (
                        f"writes: {what} {label}",
                        f"{totals['requests'] / per:g} requests",
                        f"{totals['table_wcu'] / per:.2f} CallsTable item writes",
                        f"index writes (1 WCU each): {by_index or 'none'}",
                    )
                )

        # Reads: a 10,000-call summary, and one page of each listing
        now = datetime.now(UTC)
        batch_id = "bench-summary"
        from esms_calls.domain.batches import Batch
        from esms_calls.storage.batches import BatchRepository
        from esms_calls.storage.dynamodb import Table

        BatchRepository(Table(raw, table)).open(
            Batch(
                batch_id=batch_id,
                name="bench",
                created_at=now,
                total=BATCH_SIZE,
                entries_digest="x",
                answer={},
                enqueued=True,
            ),
            expires_at=int(now.timestamp()) + 86400,
        )
        known = {
            **_completed(raw, table, batch_id, BATCH_SIZE, now),
            **_completed(raw, table, None, 200, now),
        }
        cases: list[tuple[str, dict]] = [
            ("summary of a 10,000-call batch", events.get_batch(batch_id)),
            ("CSV of a 10,000-call batch", events.list_batch_calls(batch_id, accept="text/csv")),
            ("page: GET /calls (last 24 h)", events.list_calls()),
            ("page: GET /calls?status=COMPLETED", events.list_calls({"status": "COMPLETED"})),
            ("page: GET /calls?phone=", events.list_calls({"phone": "0900000007"})),
            (
                "page: GET /calls?request_id=",
                events.list_calls({"request_id": f"batch:{batch_id}:7"}),
            ),
            ("page: GET /calls?batch_id=", events.list_calls({"batch_id": batch_id})),
            ("page: GET /batches/{id}/calls", events.list_batch_calls(batch_id)),
        ]
        for label, event in cases:
            with watching_reads(ours, known) as reads:
                started = time.perf_counter()
                answer = invoke(calls_app, event)
                elapsed = time.perf_counter() - started
            detail = f"{len(answer['body']) / 1024:.0f} KiB answer"
            if "summary" in label:
                assert body_of(answer)["by_outcome"]["ANSWERED"] == BATCH_SIZE
            rows.append(
                (
                    f"reads: {label}",
                    f"{reads['requests']} requests",
                    f"{reads['rcu']:g} RCU",
                    f"{detail}, {elapsed * 1000:.0f} ms on moto",
                )
            )
        dependencies.use_esms_transport(None)
    return rows


def accept_time_row() -> tuple:
    """POST /batches of 10,000 numbers on the local stack (moto server, SQS included), timed."""
    import httpx

    from tests.e2e.stack import local_stack

    with local_stack() as stack:
        body = {
            "calls": [f"09{i:08d}" for i in range(BATCH_SIZE)],
            "defaults": {"template_id": "bench"},
        }
        with httpx.Client(base_url=stack.url, timeout=60, trust_env=False) as api:
            started = time.perf_counter()
            answer = api.post("/batches", json=body)
            elapsed = time.perf_counter() - started
        assert answer.status_code == 202, answer.text
        assert answer.json()["accepted"] == BATCH_SIZE
    return (
        "accept: POST /batches, 10,000 entries, local stack",
        f"{elapsed:.1f} s",
        f"{len(answer.request.content) / 1024:.0f} KiB body",
        "< 29 s (API Gateway's 30 s); 100 chunks, 10 SendMessageBatch",
    )


def rows() -> list[tuple]:
    return [*in_process_rows(), accept_time_row()]


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    sys.path[:0] = [str(ROOT), str(ROOT / "local"), str(here)]
    import moto  # noqa: F401  (before any boto3 client)

    table_rows: list[tuple] = rows()
    for row in table_rows:
        print(" | ".join(str(c) for c in row))
