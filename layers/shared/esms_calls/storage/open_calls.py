"""Open calls due for reconciliation, found through the sparse OpenCallsIndex (never a scan)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from esms_calls.domain.calls import CallStatus, OpenCall
from esms_calls.domain.times import parse_iso
from esms_calls.errors import StorageUnavailable
from esms_calls.storage import items
from esms_calls.storage.dynamodb import Table, from_attributes, to_attributes

OPEN_CALLS_INDEX = "OpenCallsIndex"


class OpenCallsRepository:
    def __init__(self, calls: Table) -> None:
        self._table = calls

    def due(self, now_epoch: int, limit: int) -> Iterator[OpenCall]:
        """Open calls whose `check_after` has come, oldest first within each shard."""
        for shard in range(items.OPEN_SHARDS):
            start_key = None
            while limit > 0:
                kwargs: dict[str, Any] = {
                    "TableName": self._table.name,
                    "IndexName": OPEN_CALLS_INDEX,
                    "KeyConditionExpression": "open_shard = :shard AND check_after <= :now",
                    "ExpressionAttributeValues": to_attributes(
                        {":shard": f"OPEN#{shard}", ":now": now_epoch}
                    ),
                    "Limit": min(limit, 100),
                }
                if start_key:
                    kwargs["ExclusiveStartKey"] = start_key
                try:
                    page = self._table.client.query(**kwargs)
                except (ClientError, BotoCoreError) as exc:
                    raise StorageUnavailable("could not list open calls") from exc
                for raw in page.get("Items", []):
                    values = from_attributes(raw)
                    limit -= 1
                    yield OpenCall(
                        call_id=values["call_id"],
                        status=CallStatus(values["status"]),
                        sms_id=values.get("sms_id"),
                        created_at=parse_iso(values["created_at"]),
                    )
                start_key = page.get("LastEvaluatedKey")
                if not start_key:
                    break

    def defer(self, call_id: str, until_epoch: int) -> None:
        """Look at this call again later (only while it is still open: settled calls left)."""
        self._table.conditional_update(
            {"call_id": call_id},
            "SET check_after = :until",
            "attribute_exists(open_shard)",
            {":until": until_epoch},
        )
