"""The DynamoDB client, built once per execution environment.

boto3 honours AWS_ENDPOINT_URL_DYNAMODB, so the same code reaches moto's server locally and
DynamoDB when deployed.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from esms_calls.errors import StorageUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# Standard retry mode backs off on throttling; a few attempts keep us inside API Gateway's 30 s.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=5)


@cache
def dynamodb_client() -> DynamoDBClient:
    return boto3.client("dynamodb", config=_CONFIG)


def to_attributes(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_attributes(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def get_item(table: str, key: dict[str, Any]) -> dict[str, Any] | None:
    try:
        response = dynamodb_client().get_item(
            TableName=table, Key=to_attributes(key), ConsistentRead=True
        )
    except (ClientError, BotoCoreError) as exc:
        raise StorageUnavailable("could not read") from exc
    item = response.get("Item")
    return from_attributes(dict(item)) if item else None


def conditional_update(
    table: str, key: dict[str, Any], update: str, condition: str, values: dict[str, Any]
) -> dict[str, Any] | None:
    """Apply an update under a condition. None when applied; when the condition failed, the item
    as it was (empty when there is none), handed back by DynamoDB without a second request."""
    # "#name" placeholders stand for attribute names that are reserved words (status, result).
    names = {f"#{name}": name for name in re.findall(r"#(\w+)", f"{update} {condition}")}
    request: dict[str, Any] = {
        "TableName": table,
        "Key": to_attributes(key),
        "UpdateExpression": update,
        "ConditionExpression": condition,
        "ExpressionAttributeValues": to_attributes(values),
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if names:
        request["ExpressionAttributeNames"] = names
    try:
        dynamodb_client().update_item(**request)
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            old: dict[str, Any] = exc.response.get("Item") or {}  # type: ignore[assignment]
            return from_attributes(old)
        raise StorageUnavailable("could not write") from exc
    except BotoCoreError as exc:
        raise StorageUnavailable("could not write") from exc
    return None


def put_if_absent(table: str, item: dict[str, Any], key_attribute: str) -> bool:
    """Put an item unless one with its key exists. False when it existed."""
    try:
        dynamodb_client().put_item(
            TableName=table,
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
