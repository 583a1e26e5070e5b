"""Call records (CallsTable) and request bindings (DedupeTable): reads and conditional writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from esms_calls.domain.calls import Call, CallStatus
from esms_calls.errors import RequestIdBoundToOtherPayload, StorageUnavailable
from esms_calls.storage import items
from esms_calls.storage.dynamodb import (
    dynamodb_client,
    error_code,
    from_attributes,
    get_item,
    to_attributes,
)


@dataclass(frozen=True)
class OpenedCall:
    call: Call
    first_attempt: (
        bool  # False: an earlier attempt of this request id may have reached the provider
    )


class CallsRepository:
    def __init__(self, calls_table: str, dedupe_table: str) -> None:
        self._calls_table = calls_table
        self._dedupe_table = dedupe_table

    def open_call(
        self,
        call: Call,
        *,
        payload_hash: str,
        binding_expires_at: int,
        check_after: int,
        expires_at: int,
    ) -> OpenedCall:
        """Record a PENDING call and bind its request id to it, in one write request.

        When the request id is already bound (an earlier attempt failed with an unknown outcome),
        the earlier call is returned instead, so a retry reuses the same call id and CallbackUrl.
        """
        now = int(call.created_at.timestamp())
        binding = items.binding_item(
            call.request_id, call.call_id, payload_hash, binding_expires_at
        )
        try:
            dynamodb_client().transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._dedupe_table,
                            "Item": to_attributes(binding),
                            # Expired bindings count as absent: DynamoDB deletes TTL items late.
                            "ConditionExpression": "attribute_not_exists(id) OR expiration < :now",
                            "ExpressionAttributeValues": {":now": {"N": str(now)}},
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._calls_table,
                            "Item": to_attributes(
                                items.call_item(
                                    call, check_after=check_after, expires_at=expires_at
                                )
                            ),
                            "ConditionExpression": "attribute_not_exists(call_id)",
                        }
                    },
                ]
            )
            return OpenedCall(call=call, first_attempt=True)
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise StorageUnavailable("could not record the call") from exc
            reasons = exc.response.get("CancellationReasons", [])
            if not reasons or reasons[0].get("Code") != "ConditionalCheckFailed":
                raise StorageUnavailable("could not record the call") from exc
            existing = reasons[0].get("Item")
            existing_binding = dict(existing) if existing else None
        except BotoCoreError as exc:
            raise StorageUnavailable("could not record the call") from exc
        return self._earlier_attempt(call.request_id, payload_hash, existing_binding)

    def _earlier_attempt(
        self, request_id: str, payload_hash: str, binding: dict[str, Any] | None
    ) -> OpenedCall:
        if binding is None:
            binding = get_item(self._dedupe_table, {"id": items.BINDING_PREFIX + request_id})
        else:
            binding = from_attributes(binding)
        if binding is None:
            raise StorageUnavailable("the request binding vanished; retry")
        if binding["payload_hash"] != payload_hash:
            raise RequestIdBoundToOtherPayload(request_id)
        earlier = self.get(binding["call_id"])
        if earlier is None:
            raise StorageUnavailable("the bound call record is missing; retry")
        return OpenedCall(call=earlier, first_attempt=False)

    def outcome_update(
        self,
        call_id: str,
        status: CallStatus,
        now: datetime,
        *,
        sms_id: str | None = None,
        esms_code: str | None = None,
        esms_message: str | None = None,
    ) -> dict[str, Any]:
        """The write that records the provider's answer on a PENDING call, as a transaction item:
        it is applied together with the idempotency layer's stored outcome (one request).

        Its condition (still PENDING) fails when a fast callback moved the call on first; the
        callback's ReferenceId has then filled the SMSID, and nothing here is needed."""
        sets = ["#status = :status", "status_rank = :rank", "updated_at = :now"]
        values: dict[str, Any] = {
            ":status": status.value,
            ":rank": status.rank,
            ":pending": CallStatus.PENDING.rank,
            ":now": items.iso(now),
        }
        if sms_id:
            sets.append("sms_id = if_not_exists(sms_id, :sms)")
            values[":sms"] = sms_id
        if esms_code is not None:
            sets += ["esms_code = :code", "esms_message = :message"]
            values.update({":code": esms_code, ":message": esms_message or ""})
        if status is CallStatus.FAILED:
            sets.append("outcome = :outcome")
            values[":outcome"] = items.OUTCOME_REFUSED
        update = "SET " + ", ".join(sets)
        if status.is_final:
            update += " REMOVE open_shard, check_after"
        return {
            "TableName": self._calls_table,
            "Key": to_attributes({"call_id": call_id}),
            "UpdateExpression": update,
            "ConditionExpression": "status_rank = :pending",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_attributes(values),
        }

    def get(self, call_id: str) -> Call | None:
        values = get_item(self._calls_table, {"call_id": call_id})
        return items.call_from_item(values) if values else None
