"""The do-not-call list and the advertising frequency cap, as items of the CallsTable beside the
batch records (`call_id` = `dnc#<number key>`, `cap#<number key>#<slot>`). No attribute of the
listing indexes, nor `status`, is written on them: no listing and no outcome event sees them.
Numbers appear only as keyed hashes (domain/signing.py `number_key`).

The cap is N slots per number. A slot holds the ring time of the last advertising call that took
it; a call ringing at `t` takes a slot whose ring time is at least 24 h before `t` (or that is
empty), with one conditional write, so two concurrent requests can never both take it. Calls of
one slot are thus at least 24 h apart, and any 24 h holds at most N of them. A slot keeps the
ring time it replaced, so that releasing it (the provider refused the call) gives the earlier
call its place back; its TTL is 24 h after the ring time it holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from esms_calls.domain.calling_rules import (
    CAP_WINDOW_SECONDS,
    CapSlot,
    DoNotCallEntry,
    DoNotCallSource,
)
from esms_calls.domain.times import iso, parse_iso
from esms_calls.errors import StorageUnavailable
from esms_calls.storage.dynamodb import (
    BATCH_GET_SIZE,
    Table,
    error_code,
    from_attributes,
    to_attributes,
)

DO_NOT_CALL_PREFIX = "dnc#"
CAP_PREFIX = "cap#"


def _listed_key(number_key: str) -> dict[str, str]:
    return {"call_id": DO_NOT_CALL_PREFIX + number_key}


def _slot_key(number_key: str, slot: int) -> dict[str, str]:
    return {"call_id": f"{CAP_PREFIX}{number_key}#{slot}"}


class CallingRulesRepository:
    def __init__(self, calls: Table) -> None:
        self._table = calls

    # -- The do-not-call list ------------------------------------------------------------------

    def listed(self, number_key: str) -> DoNotCallEntry | None:
        values = self._table.get(_listed_key(number_key))
        return _entry(values) if values else None

    def listed_among(self, number_keys: Sequence[str]) -> set[str]:
        listed: set[str] = set()
        for start in range(0, len(number_keys), BATCH_GET_SIZE):
            chunk = number_keys[start : start + BATCH_GET_SIZE]
            keys = [_listed_key(number_key) for number_key in chunk]
            for values in self._table.batch_get(keys, projection="call_id", consistent=True):
                listed.add(values["call_id"].removeprefix(DO_NOT_CALL_PREFIX))
        return listed

    def add(self, number_key: str, entry: DoNotCallEntry) -> bool:
        """Put the number on the list unless it is there; False when it was (nothing changed)."""
        item = {
            **_listed_key(number_key),
            "reason": entry.reason,
            "source": entry.source.value,
            "created_at": iso(entry.created_at),
            "opted_out_by": entry.call_id,
        }
        return self._table.put_if_absent(item, key_attribute="call_id")

    def set_reason(self, number_key: str, reason: str | None) -> DoNotCallEntry | None:
        """Change the reason of a listed number; None when it is not listed."""
        request: dict[str, Any] = {
            "TableName": self._table.name,
            "Key": to_attributes(_listed_key(number_key)),
            "UpdateExpression": "REMOVE reason",
            "ConditionExpression": "attribute_exists(call_id)",
            "ReturnValues": "ALL_NEW",
        }
        if reason:
            request["UpdateExpression"] = "SET reason = :reason"
            request["ExpressionAttributeValues"] = to_attributes({":reason": reason})
        try:
            answer = self._table.client.update_item(**request)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise StorageUnavailable("could not write") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable("could not write") from exc
        return _entry(from_attributes(answer["Attributes"]))

    def remove(self, number_key: str) -> bool:
        """Take the number off the list; False when it was not on it."""
        try:
            answer = self._table.client.delete_item(
                TableName=self._table.name,
                Key=to_attributes(_listed_key(number_key)),
                ReturnValues="ALL_OLD",
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable("could not write") from exc
        return bool(answer.get("Attributes"))

    # -- The frequency cap ---------------------------------------------------------------------

    def hold(self, number_key: str, *, holder: str, rings_at: int, slots: int) -> CapSlot | None:
        """Take a cap slot for a call ringing at `rings_at` (epoch seconds); the slot's number,
        or None when every slot holds a call within 24 h of it. A slot this holder already
        holds (a retry of the same request) is its own again."""
        for slot in range(slots):
            old = self._table.conditional_update(
                _slot_key(number_key, slot),
                "SET holder = :holder, rings_at = :rings_at, expires_at = :expires_at, "
                "previous_rings_at = if_not_exists(rings_at, :never)",
                "attribute_not_exists(call_id) OR rings_at <= :free_before",
                {
                    ":holder": holder,
                    ":rings_at": rings_at,
                    ":expires_at": rings_at + CAP_WINDOW_SECONDS,
                    ":never": 0,
                    ":free_before": rings_at - CAP_WINDOW_SECONDS,
                },
            )
            if old is None:
                return CapSlot(slot, taken_now=True)
            if old.get("holder") == holder:
                return CapSlot(slot, taken_now=False)
        return None

    def release(self, number_key: str, *, holder: str, slot: int) -> None:
        """Give a slot back (its call was not placed): it holds the ring time it held before.
        Nothing changes when another call has taken it since."""
        self._table.conditional_update(
            _slot_key(number_key, slot),
            "SET rings_at = previous_rings_at, expires_at = previous_rings_at + :window "
            "REMOVE holder",
            "holder = :holder",
            {":holder": holder, ":window": CAP_WINDOW_SECONDS},
        )


def _entry(values: dict[str, Any]) -> DoNotCallEntry:
    return DoNotCallEntry(
        reason=values.get("reason"),
        source=DoNotCallSource(values["source"]),
        created_at=parse_iso(values["created_at"]),
        call_id=values.get("opted_out_by"),
    )
