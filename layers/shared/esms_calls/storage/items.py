"""Stored-item shapes of the CallsTable and the request bindings, mapped to and from the domain."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from esms_calls.domain.calls import Call, CallOutcome, CallResult, CallSpec, CallStatus
from esms_calls.domain.times import iso, parse_iso

# Open calls (not yet final) carry `open_shard` so the reconciliation can find them through the
# sparse OpenCallsIndex without a scan; spreading them over a few partitions keeps writes cool.
OPEN_SHARDS = 8
BINDING_PREFIX = "binding#"
# `outcome` is written once, with the final status, for the outcome events (template.yaml's
# OutcomeEventsPipe reads it): the call's result, or REFUSED for a call the provider refused.
OUTCOME_REFUSED = "REFUSED"


def created_key(created_at: str, call_id: str) -> str:
    """Sort key of every listing index: newest first is descending order, and it never changes
    after the call is recorded, so a call never moves between the pages of a listing."""
    return f"{created_at}#{call_id}"


def open_shard(call_id: str) -> str:
    return f"OPEN#{int(call_id[-2:], 16) % OPEN_SHARDS}"


def call_item(call: Call, *, check_after: int, expires_at: int) -> dict[str, Any]:
    values: dict[str, Any] = {
        "call_id": call.call_id,
        "request_id": call.request_id,
        "status": call.status.value,
        # Conditions compare ranks ("status_rank < :rank") so that status only moves forward.
        "status_rank": call.status.rank,
        # Its own attribute: the outcome events carry it (template.yaml's OutcomeEventsPipe).
        "kind": call.spec.kind.value,
        # Withheld: a sensitive script's variables never reach a stored item (PlaceCall opens
        # the call with the withheld spec; this holds for any other writer too).
        "spec": call.spec.withheld().model_dump(exclude_none=True),
        "sms_id": call.sms_id,
        "created_at": iso(call.created_at),
        "updated_at": iso(call.updated_at),
        "callbacks_received": call.callbacks_received,
        "expires_at": expires_at,
        # The listing indexes' keys (template.yaml, CallsTable): written once, never updated.
        "phone": call.spec.phone,
        "created_day": iso(call.created_at)[:10],
        "created_key": created_key(iso(call.created_at), call.call_id),
        "batch_id": call.batch_id,
        # Top level: a key-press callback's write hands it back with the number (no read).
        "opt_out_key": call.spec.opt_out_key,
        "deferred_until": iso(call.deferred_until) if call.deferred_until else None,
    }
    if not call.status.is_final:
        values["open_shard"] = open_shard(call.call_id)
        values["check_after"] = check_after
    return values


def call_from_item(values: dict[str, Any]) -> Call:
    result = values.get("result")
    return Call(
        call_id=values["call_id"],
        request_id=values["request_id"],
        spec=_spec_from_item(values["spec"]),
        status=CallStatus(values["status"]),
        sms_id=values.get("sms_id"),
        esms_code=values.get("esms_code"),
        esms_message=values.get("esms_message"),
        result=result_from_item(result) if result else None,
        callbacks_received=int(values.get("callbacks_received", 0)),
        created_at=parse_iso(values["created_at"]),
        updated_at=parse_iso(values["updated_at"]),
        batch_id=values.get("batch_id"),
        deferred_until=parse_iso(values["deferred_until"]) if "deferred_until" in values else None,
    )


def _spec_from_item(values: dict[str, Any]) -> CallSpec:
    plain = _plain(values)
    if "tts" in plain:
        plain["tts"] = _plain(plain["tts"])
    return CallSpec.model_validate(plain)


def result_item(result: CallResult) -> dict[str, Any]:
    values = result.model_dump(exclude_none=True, mode="python")
    values["call_status"] = result.call_status.value
    if result.price is not None:
        # A string keeps the provider's exact text ("300.0000"); DynamoDB numbers drop the zeros.
        values["price"] = str(result.price)
    return values


def result_from_item(values: dict[str, Any]) -> CallResult:
    plain = _plain(values)
    plain["call_status"] = CallOutcome(plain["call_status"])
    if "price" in values:
        plain["price"] = Decimal(values["price"])
    return CallResult.model_validate(plain)


def binding_item(
    request_id: str, call_id: str, payload_hash: str, expiration: int
) -> dict[str, Any]:
    return {
        "id": BINDING_PREFIX + request_id,
        "call_id": call_id,
        "payload_hash": payload_hash,
        "expiration": expiration,
    }


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB gives numbers back as Decimal; the models want ints where they declared ints."""
    return {
        k: (int(v) if isinstance(v, Decimal) and v == v.to_integral_value() else v)
        for k, v in values.items()
    }
