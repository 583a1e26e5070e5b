"""Batch records (one item per batch on CallsTable, `call_id` = `batch#<batch_id>`) and the calls
of a batch, read from the sparse CallsByBatchIndex, whose projection holds exactly what the
summary and the CSV need: no read of the call records themselves."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.types import Binary
from botocore.exceptions import BotoCoreError, ClientError

from esms_calls.domain.batches import Batch, BatchCall
from esms_calls.domain.calling_rules import CallingRule
from esms_calls.domain.calls import CallStatus
from esms_calls.domain.listing import CallIndex, Window
from esms_calls.domain.times import iso, parse_iso
from esms_calls.errors import StorageUnavailable
from esms_calls.storage import items
from esms_calls.storage.dynamodb import Table, error_code, from_attributes, to_attributes
from esms_calls.storage.listing import INDEX_NAMES, key_bounds, key_condition

BATCH_PREFIX = "batch#"
# The attributes CallsByBatchIndex projects (template.yaml), besides its keys and call_id.
PROJECTED = ("request_id", "phone", "status", "outcome", "result", "created_at", "updated_at")


def batch_key(batch_id: str) -> dict[str, str]:
    return {"call_id": BATCH_PREFIX + batch_id}


class BatchRepository:
    def __init__(self, calls: Table) -> None:
        self._table = calls

    def open(self, batch: Batch, *, expires_at: int) -> Batch | None:
        item = {
            **batch_key(batch.batch_id),
            # Not `batch_id`: that attribute is the key of CallsByBatchIndex, for calls only.
            "batch_of": batch.batch_id,
            "name": batch.name,
            "created_at": iso(batch.created_at),
            "total": batch.total,
            "entries_digest": batch.entries_digest,
            # Compressed: the invalid entries of 10,000 could pass DynamoDB's 400 KB item limit
            # as JSON, and their errors repeat (a few KB compressed).
            "answer": Binary(zlib.compress(json.dumps(batch.answer).encode())),
            "enqueued": batch.enqueued,
            "expires_at": expires_at,
            # Number sets: adding an index that is there changes nothing (skip is idempotent).
            **{_skipped(rule): set(indexes) for rule, indexes in batch.skipped.items() if indexes},
        }
        try:
            self._table.client.put_item(
                TableName=self._table.name,
                Item=to_attributes(item),
                ConditionExpression="attribute_not_exists(call_id)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise StorageUnavailable("could not record the batch") from exc
            old: dict[str, Any] = exc.response.get("Item") or {}  # type: ignore[assignment]
            return _batch(from_attributes(old)) if old else self.get(batch.batch_id)
        except BotoCoreError as exc:
            raise StorageUnavailable("could not record the batch") from exc
        return None

    def mark_enqueued(self, batch_id: str) -> None:
        self._table.conditional_update(
            batch_key(batch_id), "SET enqueued = :yes", "attribute_exists(call_id)", {":yes": True}
        )

    def skip(self, batch_id: str, index: int, rule: CallingRule) -> None:
        self._table.conditional_update(
            batch_key(batch_id),
            f"ADD {_skipped(rule)} :index",
            "attribute_exists(call_id)",
            {":index": {index}},
        )

    def get(self, batch_id: str) -> Batch | None:
        values = self._table.get(batch_key(batch_id))
        return _batch(values) if values else None

    def calls(self, batch_id: str) -> Iterator[BatchCall]:
        request: dict[str, Any] = {
            "TableName": self._table.name,
            "IndexName": INDEX_NAMES[CallIndex.BATCH],
            "KeyConditionExpression": key_condition(CallIndex.BATCH.value),
            "ExpressionAttributeValues": key_bounds(batch_id, Window(None, None)),
            "ProjectionExpression": ", ".join(["call_id", *(f"#{n}" for n in PROJECTED)]),
            "ExpressionAttributeNames": {f"#{n}": n for n in PROJECTED},
        }
        while True:
            try:
                page = self._table.client.query(**request)
            except (ClientError, BotoCoreError) as exc:
                raise StorageUnavailable("could not read the batch's calls") from exc
            for values in map(from_attributes, page.get("Items", [])):
                yield _batch_call(values)
            if not page.get("LastEvaluatedKey"):
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _batch(values: dict[str, Any]) -> Batch:
    answer = values["answer"]
    return Batch(
        batch_id=values["batch_of"],
        name=values.get("name"),
        created_at=parse_iso(values["created_at"]),
        total=int(values["total"]),
        entries_digest=values["entries_digest"],
        answer=json.loads(zlib.decompress(bytes(answer.value))),
        enqueued=bool(values.get("enqueued")),
        skipped={
            rule: frozenset(int(index) for index in values[_skipped(rule)])
            for rule in CallingRule
            if _skipped(rule) in values
        },
    )


def _skipped(rule: CallingRule) -> str:
    """The attribute holding the indexes of the entries this rule skipped."""
    return "skipped_" + rule.value.replace("-", "_")


def _batch_call(values: dict[str, Any]) -> BatchCall:
    result = values.get("result")
    return BatchCall(
        call_id=values["call_id"],
        request_id=values["request_id"],
        phone=values["phone"],
        status=CallStatus(values["status"]),
        outcome=values.get("outcome"),
        result=items.result_from_item(result) if result else None,
        created_at=parse_iso(values["created_at"]),
        updated_at=parse_iso(values["updated_at"]),
    )
