"""Call records (CallsTable) and request bindings (DedupeTable): reads and conditional writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from esms_calls.domain.calls import Call, CallStatus, OpenedCall
from esms_calls.domain.placement import PlaceCallOutcome
from esms_calls.domain.times import iso
from esms_calls.errors import RequestIdBoundToOtherPayload, StorageUnavailable
from esms_calls.storage import items
from esms_calls.storage.dynamodb import Table, error_code, from_attributes, to_attributes


class CallsRepository:
    def __init__(self, calls: Table, dedupe: Table) -> None:
        self._calls = calls
        self._dedupe = dedupe

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
        binding = items.binding_item(
            call.request_id, call.call_id, payload_hash, binding_expires_at
        )
        record = items.call_item(call, check_after=check_after, expires_at=expires_at)
        try:
            self._calls.client.transact_write_items(
                TransactItems=self._binding_and_record(binding, record, call.created_at)
            )
            return OpenedCall(call=call, first_attempt=True)
        except ClientError as exc:
            existing_binding = _bound_elsewhere(exc)
        except BotoCoreError as exc:
            raise StorageUnavailable("could not record the call") from exc
        return self._earlier_attempt(call.request_id, payload_hash, existing_binding)

    def _binding_and_record(
        self, binding: dict[str, Any], record: dict[str, Any], now: datetime
    ) -> list[Any]:
        return [
            {
                "Put": {
                    "TableName": self._dedupe.name,
                    "Item": to_attributes(binding),
                    # Expired bindings count as absent: DynamoDB deletes TTL items late.
                    "ConditionExpression": "attribute_not_exists(id) OR expiration < :now",
                    "ExpressionAttributeValues": {":now": {"N": str(int(now.timestamp()))}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Put": {
                    "TableName": self._calls.name,
                    "Item": to_attributes(record),
                    "ConditionExpression": "attribute_not_exists(call_id)",
                }
            },
        ]

    def _earlier_attempt(
        self, request_id: str, payload_hash: str, binding: dict[str, Any] | None
    ) -> OpenedCall:
        if binding is None:
            binding = self._dedupe.get({"id": items.BINDING_PREFIX + request_id})
        if binding is None:
            raise StorageUnavailable("the request binding vanished; retry")
        if binding["payload_hash"] != payload_hash:
            raise RequestIdBoundToOtherPayload(request_id)
        earlier = self.get(binding["call_id"])
        if earlier is None:
            raise StorageUnavailable("the bound call record is missing; retry")
        return OpenedCall(call=earlier, first_attempt=False)

    def outcome_update(self, outcome: PlaceCallOutcome, now: datetime) -> dict[str, Any]:
        """The write that records a placement's outcome on its PENDING call, as a transaction
        item: it is applied together with the idempotency layer's stored outcome (one request).

        Its condition (still PENDING) fails when a fast callback moved the call on first; the
        callback's ReferenceId has then filled the SMSID, and nothing here is needed."""
        status = outcome.status
        sets = ["#status = :status", "status_rank = :rank", "updated_at = :now"]
        values: dict[str, Any] = {
            ":status": status.value,
            ":rank": status.rank,
            ":pending": CallStatus.PENDING.rank,
            ":now": iso(now),
        }
        if outcome.sms_id:
            sets.append("sms_id = if_not_exists(sms_id, :sms)")
            values[":sms"] = outcome.sms_id
        if outcome.refusal is not None:
            sets += ["esms_code = :code", "esms_message = :message"]
            values.update({":code": outcome.refusal.code, ":message": outcome.refusal.message})
        if status is CallStatus.FAILED:
            sets.append("outcome = :outcome")
            values[":outcome"] = items.OUTCOME_REFUSED
        update = "SET " + ", ".join(sets)
        if status.is_final:
            update += " REMOVE open_shard, check_after"
        return {
            "TableName": self._calls.name,
            "Key": to_attributes({"call_id": outcome.call_id}),
            "UpdateExpression": update,
            "ConditionExpression": "status_rank = :pending",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_attributes(values),
        }

    def get(self, call_id: str) -> Call | None:
        values = self._calls.get({"call_id": call_id})
        return items.call_from_item(values) if values else None


def _bound_elsewhere(exc: ClientError) -> dict[str, Any] | None:
    """The binding that made the transaction fail (None: DynamoDB did not hand it back).
    Any other failure is storage being unavailable."""
    if error_code(exc) != "TransactionCanceledException":
        raise StorageUnavailable("could not record the call") from exc
    reasons = exc.response.get("CancellationReasons", [])
    if not reasons or reasons[0].get("Code") != "ConditionalCheckFailed":
        raise StorageUnavailable("could not record the call") from exc
    existing = reasons[0].get("Item")
    return from_attributes(dict(existing)) if existing else None
