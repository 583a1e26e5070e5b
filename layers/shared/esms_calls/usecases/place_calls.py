"""Place the calls of a trigger's list (one run of a schedule, one rule event).

Request ids are deterministic. An entry's own `request_id`, where the trigger allows one (rule
events), is used as is, exactly like the API's. Otherwise the id is derived from the run and the
entry's position: `sch:<digest>:<index>` for a schedule, `evt:<digest>:<index>` for a rule event,
the digest hashing (schedule ARN, scheduled time) or (event source, event id). A retried
invocation derives the same ids, so `place_call`'s idempotency answers the calls it placed from
the store instead of placing them again; the schedule's next run derives new ones.

Up to FAN_OUT_THRESHOLD valid entries are placed here, one after another; a longer list goes to
the calls queue, one message per call, and the same function consumes it with bounded
concurrency. A call whose placing failed for a reason that may pass (provider unreachable or
timing out, storage unavailable, the same request still in flight) is queued as well, with every
entry after it: the queue's retries and dead-letter queue then take care of it.

Invalid entries are reported (the returned report, a log line each with the phone masked, and a
metric) and the valid ones are still placed. The same call twice in one list is reported, not
placed twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from hashlib import sha256

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from pydantic import BaseModel

from esms_calls import dependencies
from esms_calls.domain.calls import CallSpec, CallStatus
from esms_calls.domain.orders import CallOrder, TriggerKind
from esms_calls.domain.phone import mask_phone
from esms_calls.errors import InvalidCallRequest, RequestIdBoundToOtherPayload, StorageUnavailable
from esms_calls.esms.errors import ProviderError
from esms_calls.observability import count, logger
from esms_calls.settings import get_settings
from esms_calls.usecases import place_call
from esms_calls.usecases.place_call import PlaceCallOutcome

# Below this much time left, the entries not yet placed are queued instead.
_QUEUE_RESERVE_SECONDS = 6.0

_PREFIX = {TriggerKind.SCHEDULE: "sch", TriggerKind.RULE: "evt"}

# Failures that may pass: retried (through the queue), never reported as the entry's fault.
RETRYABLE = (
    ProviderError,
    StorageUnavailable,
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)


class EntryError(BaseModel):
    field: str
    message: str


class InvalidEntry(BaseModel):
    index: int
    errors: list[EntryError]
    phone: str | None = None  # masked: enough to recognise the entry, never the whole number


class PlacedCall(BaseModel):
    index: int
    request_id: str
    call_id: str
    status: CallStatus
    sms_id: str | None = None
    esms_code: str | None = None
    replayed: bool = False


class PlaceCallsReport(BaseModel):
    """What became of each entry; returned by the invocation and summarised in the logs."""

    trigger: TriggerKind
    request_id_prefix: str  # + an entry's index = its request id (unless it brought its own)
    received: int
    placed: list[PlacedCall]
    queued: int
    invalid: list[InvalidEntry]


@dataclass(frozen=True)
class ListEntry:
    """A valid entry of the list."""

    index: int
    spec: CallSpec
    request_id: str | None = None  # the producer's own id, where the trigger allows one


@dataclass(frozen=True)
class PlaceCallsCommand:
    trigger: TriggerKind
    run: str  # identifies the run (or event): the same run derives the same request ids
    received: int
    entries: Sequence[ListEntry]
    invalid: Sequence[InvalidEntry]


class Disposition(StrEnum):
    DONE = "DONE"  # a definitive outcome: accepted or refused by the provider
    INVALID = "INVALID"  # cannot be placed as asked (send time passed, request id reused)
    RETRY = "RETRY"  # may succeed later


@dataclass(frozen=True)
class Attempt:
    disposition: Disposition
    outcome: PlaceCallOutcome | None = None
    error: EntryError | None = None
    cause: str | None = None


def request_id_prefix(trigger: TriggerKind, run: str) -> str:
    return f"{_PREFIX[trigger]}:{sha256(run.encode()).hexdigest()[:20]}:"


def place_calls(
    command: PlaceCallsCommand, *, remaining_seconds: Callable[[], float]
) -> PlaceCallsReport:
    prefix = request_id_prefix(command.trigger, command.run)
    orders, duplicates = _orders(command, prefix)
    invalid = sorted([*command.invalid, *duplicates], key=lambda entry: entry.index)
    for entry in invalid:
        _report_invalid(command.trigger, entry)
    if orders:
        count("CallsRequested", len(orders))

    placed: list[PlacedCall] = []
    to_queue: list[CallOrder] = []
    if len(orders) > get_settings().fan_out_threshold:
        to_queue = orders
    else:
        for position, order in enumerate(orders):
            if remaining_seconds() < _QUEUE_RESERVE_SECONDS:
                to_queue = orders[position:]
                break
            result = attempt(order, remaining_seconds=remaining_seconds())
            if result.outcome is not None:
                placed.append(_placed(order, result.outcome))
            elif result.error is not None:
                entry = InvalidEntry(
                    index=order.index, errors=[result.error], phone=mask_phone(order.spec.phone)
                )
                _report_invalid(command.trigger, entry)
                invalid.append(entry)
            else:
                logger.warning(
                    "call not placed yet: queued for a retry",
                    extra={"request_id": order.request_id, "cause": result.cause},
                )
                to_queue = orders[position:]
                break

    if invalid:
        count("CallListEntriesInvalid", len(invalid))
    if to_queue:
        dependencies.calls_queue().send(to_queue)
        count("CallsQueued", len(to_queue))
    report = PlaceCallsReport(
        trigger=command.trigger,
        request_id_prefix=prefix,
        received=command.received,
        placed=placed,
        queued=len(to_queue),
        invalid=invalid,
    )
    logger.info(
        "call list handled",
        extra={
            "trigger": command.trigger.value,
            "request_id_prefix": prefix,
            "received": report.received,
            "placed": len(placed),
            "queued": report.queued,
            "invalid": len(invalid),
        },
    )
    return report


def attempt(order: CallOrder, *, remaining_seconds: float | None) -> Attempt:
    """Place one ordered call and say what to do with it; unexpected errors propagate."""
    try:
        outcome = place_call.place_call(
            place_call.PlaceCallCommand(request_id=order.request_id, spec=order.spec),
            remaining_seconds=remaining_seconds,
        )
    except InvalidCallRequest as exc:
        return Attempt(Disposition.INVALID, error=EntryError(field=exc.field, message=exc.message))
    except (IdempotencyValidationError, RequestIdBoundToOtherPayload):
        return Attempt(
            Disposition.INVALID,
            error=EntryError(
                field="request_id", message="was used within 24 h for a different call"
            ),
        )
    except RETRYABLE as exc:
        return Attempt(Disposition.RETRY, cause=type(exc).__name__)
    return Attempt(Disposition.DONE, outcome=outcome)


def _orders(command: PlaceCallsCommand, prefix: str) -> tuple[list[CallOrder], list[InvalidEntry]]:
    orders: list[CallOrder] = []
    duplicates: list[InvalidEntry] = []
    by_spec: dict[CallSpec, int] = {}
    by_request_id: dict[str, int] = {}
    for entry in command.entries:
        request_id = entry.request_id or f"{prefix}{entry.index}"
        error = None
        if entry.spec in by_spec:
            error = EntryError(
                field="call", message=f"the same call as entry {by_spec[entry.spec]}"
            )
        elif request_id in by_request_id:
            error = EntryError(
                field="request_id", message=f"also given to entry {by_request_id[request_id]}"
            )
        if error:
            duplicates.append(
                InvalidEntry(index=entry.index, errors=[error], phone=mask_phone(entry.spec.phone))
            )
            continue
        by_spec[entry.spec] = by_request_id[request_id] = entry.index
        orders.append(CallOrder(command.trigger, entry.index, request_id, entry.spec))
    return orders, duplicates


def _report_invalid(trigger: TriggerKind, entry: InvalidEntry) -> None:
    logger.warning(
        "call list entry refused",
        extra={
            "trigger": trigger.value,
            "index": entry.index,
            "phone": entry.phone,
            "errors": [error.model_dump() for error in entry.errors],
        },
    )


def _placed(order: CallOrder, outcome: PlaceCallOutcome) -> PlacedCall:
    return PlacedCall(
        index=order.index,
        request_id=outcome.request_id,
        call_id=outcome.call_id,
        status=outcome.status,
        sms_id=outcome.sms_id,
        esms_code=outcome.refusal.code if outcome.refusal else None,
        replayed=outcome.replayed,
    )
