"""DynamoDB items and the few request shapes every repository uses, on a table handed in."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from esms_calls.errors import StorageUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

BATCH_GET_SIZE = 100  # most keys of one BatchGetItem
_BATCH_GET_ROUNDS = 5
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_attributes(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_attributes(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@dataclass(frozen=True)
class Table:
    """One table and the client that reaches it."""

    client: DynamoDBClient
    name: str

    def get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        try:
            response = self.client.get_item(
                TableName=self.name, Key=to_attributes(key), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable("could not read") from exc
        item = response.get("Item")
        return from_attributes(dict(item)) if item else None

    def conditional_update(
        self, key: dict[str, Any], update: str, condition: str, values: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Apply an update under a condition. None when applied; when the condition failed, the
        item as it was (empty when there is none), handed back by DynamoDB without a second
        request."""
        applied, old = self._update(key, update, condition, values, return_new=False)
        return None if applied else old

    def update_returning(
        self, key: dict[str, Any], update: str, condition: str, values: dict[str, Any]
    ) -> tuple[bool, dict[str, Any]]:
        """Like conditional_update, and the item either way, in the same request: after the
        update when applied, as it was when the condition failed (empty when there is none)."""
        return self._update(key, update, condition, values, return_new=True)

    def _update(
        self,
        key: dict[str, Any],
        update: str,
        condition: str,
        values: dict[str, Any],
        *,
        return_new: bool,
    ) -> tuple[bool, dict[str, Any]]:
        # "#name" placeholders stand for attribute names that are reserved words (status, result).
        names = {f"#{name}": name for name in re.findall(r"#(\w+)", f"{update} {condition}")}
        request: dict[str, Any] = {
            "TableName": self.name,
            "Key": to_attributes(key),
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": to_attributes(values),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if return_new:
            request["ReturnValues"] = "ALL_NEW"
        if names:
            request["ExpressionAttributeNames"] = names
        try:
            answer = self.client.update_item(**request)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                old: dict[str, Any] = exc.response.get("Item") or {}  # type: ignore[assignment]
                return False, from_attributes(old)
            raise StorageUnavailable("could not write") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable("could not write") from exc
        return True, from_attributes(dict(answer.get("Attributes") or {}))

    def batch_get(
        self,
        keys: Sequence[dict[str, Any]],
        *,
        projection: str | None = None,
        consistent: bool = False,
    ) -> list[dict[str, Any]]:
        """The items of up to 100 keys (BatchGetItem's limit); keys DynamoDB leaves unprocessed
        (throttling) are asked for again, backing off as it asks."""
        request: dict[str, Any] = {
            "Keys": [to_attributes(key) for key in keys],
            "ConsistentRead": consistent,
        }
        if projection:
            request["ProjectionExpression"] = projection
        pending: dict[str, Any] = {self.name: request}
        found: list[dict[str, Any]] = []
        for round_ in range(_BATCH_GET_ROUNDS):
            try:
                response = self.client.batch_get_item(RequestItems=pending)
            except (ClientError, BotoCoreError) as exc:
                raise StorageUnavailable("could not read") from exc
            found += map(from_attributes, response.get("Responses", {}).get(self.name, []))
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                return found
            time.sleep(0.05 * 2**round_)
        raise StorageUnavailable("could not read every item asked for")

    def put_if_absent(self, item: dict[str, Any], key_attribute: str) -> bool:
        """Put an item unless one with its key exists. False when it existed."""
        try:
            self.client.put_item(
                TableName=self.name,
                Item=to_attributes(item),
                ConditionExpression=f"attribute_not_exists({key_attribute})",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise StorageUnavailable("could not write") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable("could not write") from exc
        return True
