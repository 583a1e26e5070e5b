"""The listing indexes of CallsTable (template.yaml): Query for the keys, BatchGetItem for the
calls. Never a Scan: every listing names a partition of one of these indexes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from esms_calls.domain.calls import Call
from esms_calls.domain.listing import CallIndex, IndexedCall, Position, Window
from esms_calls.domain.times import iso
from esms_calls.errors import StorageUnavailable
from esms_calls.storage import items
from esms_calls.storage.dynamodb import BATCH_GET_SIZE, Table, from_attributes, to_attributes

INDEX_NAMES = {
    CallIndex.REQUEST: "CallsByRequestIndex",
    CallIndex.BATCH: "CallsByBatchIndex",
    CallIndex.PHONE: "CallsByPhoneIndex",
    CallIndex.DAY: "CallsByDayIndex",
}


def key_condition(partition_attribute: str) -> str:
    return f"{partition_attribute} = :partition AND created_key BETWEEN :low AND :high"


def key_bounds(partition: str, window: Window) -> dict[str, Any]:
    """The created_key range of a window: `created_key` is `<created_at>#<call_id>`, so every
    key of the window's last millisecond sorts before `<end>#~`."""
    return to_attributes(
        {
            ":partition": partition,
            ":low": iso(window.start) if window.start else "0",  # below every ISO time
            ":high": f"{iso(window.end)}#~" if window.end else "~",
        }
    )


class CallIndexReader:
    def __init__(self, calls: Table) -> None:
        self._table = calls

    def entries(
        self,
        index: CallIndex,
        partition: str,
        window: Window,
        after: Position | None,
        limit: int,
    ) -> tuple[list[IndexedCall], bool]:
        request: dict[str, Any] = {
            "TableName": self._table.name,
            "IndexName": INDEX_NAMES[index],
            "KeyConditionExpression": key_condition(index.value),
            "ExpressionAttributeValues": key_bounds(partition, window),
            "ProjectionExpression": "call_id, created_key",
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if after is not None and after.created_key and after.call_id:
            request["ExclusiveStartKey"] = to_attributes(
                {index.value: partition, "created_key": after.created_key, "call_id": after.call_id}
            )
        try:
            page = self._table.client.query(**request)
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable("could not list calls") from exc
        found = [
            IndexedCall(created_key=values["created_key"], call_id=values["call_id"])
            for values in map(from_attributes, page.get("Items", []))
        ]
        return found, bool(page.get("LastEvaluatedKey"))

    def calls(self, call_ids: Sequence[str]) -> dict[str, Call]:
        found: dict[str, Call] = {}
        for start in range(0, len(call_ids), BATCH_GET_SIZE):
            for values in self._batch_get(call_ids[start : start + BATCH_GET_SIZE]):
                found[values["call_id"]] = items.call_from_item(values)
        return found

    def _batch_get(self, call_ids: Sequence[str]) -> list[dict[str, Any]]:
        return self._table.batch_get([{"call_id": call_id} for call_id in set(call_ids)])
