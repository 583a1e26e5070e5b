"""Place the calls of a trigger's list (one run of a schedule, one rule event).

Request ids are deterministic. An entry's own `request_id`, where the trigger allows one (rule
events), is used as is, exactly like the API's. Otherwise the id is derived from the run and the
entry's position: `sch:<digest>:<index>` for a schedule, `evt:<digest>:<index>` for a rule event,
the digest hashing (schedule ARN, scheduled time) or (event source, event id). A retried
invocation derives the same ids, so placing answers the calls it placed from the idempotency
store instead of placing them again; the schedule's next run derives new ones.

Up to `fan_out_threshold` valid entries are placed here, one after another; a longer list goes to
the calls queue, one message per call, and the same function consumes it with bounded
concurrency. A call whose placing failed for a reason that may pass (provider unreachable or
timing out, storage unavailable, the same request still in flight) is queued as well, with every
entry after it: the queue's retries and dead-letter queue then take care of it.

Invalid entries are reported (the returned report, a log line each with the phone masked, and a
metric) and the valid ones are still placed. The same call twice in one list is reported, not
placed twice.

A sensitive call (a one-time code) is never queued: an SQS message would carry its variables in
clear for days. In a list that fans out it is refused as an entry; in a short list, when the
calls from it on would have to be queued, the invocation fails instead (its trigger retries it,
and the calls already placed are answered from the idempotency store).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from hashlib import sha256

from pydantic import BaseModel

from esms_calls.domain.calls import CallSpec, CallStatus
from esms_calls.domain.orders import CallOrder, TriggerKind
from esms_calls.domain.phone import mask_phone
from esms_calls.domain.placement import PlaceCallOutcome
from esms_calls.errors import ServiceError
from esms_calls.observability import count, logger
from esms_calls.usecases.attempt import EntryError, attempt
from esms_calls.usecases.place_call import PlaceCall
from esms_calls.usecases.ports import CallQueue

# Below this much time left, the entries not yet placed are queued instead.
_QUEUE_RESERVE_SECONDS = 6.0

_PREFIX = {TriggerKind.SCHEDULE: "sch", TriggerKind.RULE: "evt"}


class SensitiveCallsNotQueued(ServiceError):
    """A short list must queue calls (to retry them, or for lack of time) and some are
    sensitive: the invocation fails so that its trigger retries the whole list."""


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

    @classmethod
    def of(cls, order: CallOrder, outcome: PlaceCallOutcome) -> PlacedCall:
        return cls(
            index=order.index,
            request_id=outcome.request_id,
            call_id=outcome.call_id,
            status=outcome.status,
            sms_id=outcome.sms_id,
            esms_code=outcome.refusal.code if outcome.refusal else None,
            replayed=outcome.replayed,
        )


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


@dataclass
class _Progress:
    """What became of the orders so far, while they are worked through."""

    placed: list[PlacedCall] = field(default_factory=list)
    invalid: list[InvalidEntry] = field(default_factory=list)
    to_queue: list[CallOrder] = field(default_factory=list)


def request_id_prefix(trigger: TriggerKind, run: str) -> str:
    return f"{_PREFIX[trigger]}:{sha256(run.encode()).hexdigest()[:20]}:"


class PlaceCalls:
    def __init__(self, *, place_call: PlaceCall, queue: CallQueue, fan_out_threshold: int) -> None:
        self._place_call = place_call
        self._queue = queue
        self._fan_out_threshold = fan_out_threshold

    def __call__(
        self, command: PlaceCallsCommand, *, remaining_seconds: Callable[[], float]
    ) -> PlaceCallsReport:
        prefix = request_id_prefix(command.trigger, command.run)
        orders, duplicates = _orders(command, prefix)
        progress = _Progress(invalid=sorted([*command.invalid, *duplicates], key=lambda e: e.index))
        for entry in progress.invalid:
            _report_invalid(command.trigger, entry)
        if orders:
            count("CallsRequested", len(orders))
        if len(orders) > self._fan_out_threshold:
            progress.to_queue = self._queueable(command.trigger, orders, progress)
        else:
            self._place_in_turn(command.trigger, orders, progress, remaining_seconds)
        if progress.invalid:
            count("CallListEntriesInvalid", len(progress.invalid))
        if progress.to_queue:
            self._queue.send(progress.to_queue)
            count("CallsQueued", len(progress.to_queue))
        return _reported(command, prefix, progress)

    def _queueable(
        self, trigger: TriggerKind, orders: list[CallOrder], progress: _Progress
    ) -> list[CallOrder]:
        """The orders of a list that fans out, its sensitive ones refused."""
        queueable = []
        for order in orders:
            if not order.spec.sensitive:
                queueable.append(order)
                continue
            message = (
                f"a sensitive call is never queued, and lists of more than "
                f"{self._fan_out_threshold} calls are: place it on its own or in a shorter list"
            )
            entry = InvalidEntry(
                index=order.index,
                errors=[EntryError(field="tts.sensitive", message=message)],
                phone=mask_phone(order.spec.phone),
            )
            _report_invalid(trigger, entry)
            progress.invalid.append(entry)
        progress.invalid.sort(key=lambda e: e.index)
        return queueable

    def _place_in_turn(
        self,
        trigger: TriggerKind,
        orders: list[CallOrder],
        progress: _Progress,
        remaining_seconds: Callable[[], float],
    ) -> None:
        """Place the orders one after another; queue the rest once one must be retried or the
        time runs short."""
        for position, order in enumerate(orders):
            if remaining_seconds() < _QUEUE_RESERVE_SECONDS:
                progress.to_queue = _queued_rest(orders[position:])
                return
            result = attempt(self._place_call, order, remaining_seconds=remaining_seconds())
            if result.outcome is not None:
                progress.placed.append(PlacedCall.of(order, result.outcome))
            elif result.error is not None:
                entry = InvalidEntry(
                    index=order.index, errors=[result.error], phone=mask_phone(order.spec.phone)
                )
                _report_invalid(trigger, entry)
                progress.invalid.append(entry)
            else:
                logger.warning(
                    "call not placed yet: queued for a retry",
                    extra={"request_id": order.request_id, "cause": result.cause},
                )
                progress.to_queue = _queued_rest(orders[position:])
                return


def _queued_rest(orders: list[CallOrder]) -> list[CallOrder]:
    """The rest of a short list, to queue; SensitiveCallsNotQueued when one is sensitive."""
    if any(order.spec.sensitive for order in orders):
        raise SensitiveCallsNotQueued(
            "calls of this list must wait, and sensitive ones are never queued: retry the list"
        )
    return orders


def _reported(command: PlaceCallsCommand, prefix: str, progress: _Progress) -> PlaceCallsReport:
    report = PlaceCallsReport(
        trigger=command.trigger,
        request_id_prefix=prefix,
        received=command.received,
        placed=progress.placed,
        queued=len(progress.to_queue),
        invalid=progress.invalid,
    )
    logger.info(
        "call list handled",
        extra={
            "trigger": command.trigger.value,
            "request_id_prefix": prefix,
            "received": report.received,
            "placed": len(report.placed),
            "queued": report.queued,
            "invalid": len(report.invalid),
        },
    )
    return report


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
        orders.append(
            CallOrder(
                trigger=command.trigger, index=entry.index, request_id=request_id, spec=entry.spec
            )
        )
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
