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

A list is a batch: its batch id is the request ids' prefix without the trailing colon
(`sch:<digest>`, `evt:<digest>`), recorded once before anything is placed (a retried run finds
its record), returned in the report and logged, so `GET /batches/{batch_id}` follows the run.

A sensitive call (a one-time code) is never queued: an SQS message would carry its variables in
clear for days. In a list that fans out it is refused as an entry; in a short list, when the
calls from it on would have to be queued, the invocation fails instead (its trigger retries it,
and the calls already placed are answered from the idempotency store).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from hashlib import sha256

from pydantic import BaseModel

from esms_calls.domain.batches import Batch
from esms_calls.domain.calls import CallSpec, CallStatus
from esms_calls.domain.orders import (
    CallOrder,
    EntryError,
    InvalidEntry,
    ListEntry,
    SkippedEntry,
    TriggerKind,
)
from esms_calls.domain.phone import mask_phone
from esms_calls.domain.placement import PlaceCallOutcome
from esms_calls.errors import ServiceError
from esms_calls.observability import count, logger
from esms_calls.usecases.attempt import attempt
from esms_calls.usecases.place_call import PlaceCall
from esms_calls.usecases.ports import BatchStore, CallQueue, Clock, utc_now

# Below this much time left, the entries not yet placed are queued instead.
_QUEUE_RESERVE_SECONDS = 6.0

_PREFIX = {TriggerKind.SCHEDULE: "sch", TriggerKind.RULE: "evt"}


class SensitiveCallsNotQueued(ServiceError):
    """A short list must queue calls (to retry them, or for lack of time) and some are
    sensitive: the invocation fails so that its trigger retries the whole list."""


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
    # A list is a batch (GET /batches/{batch_id}); None for a single call.
    batch_id: str | None
    request_id_prefix: str  # + an entry's index = its request id (unless it brought its own)
    received: int
    placed: list[PlacedCall]
    queued: int
    invalid: list[InvalidEntry]
    skipped: list[SkippedEntry] = []  # forbidden by a calling rule


@dataclass(frozen=True)
class PlaceCallsCommand:
    trigger: TriggerKind
    run: str  # identifies the run (or event): the same run derives the same request ids
    received: int
    entries: Sequence[ListEntry]
    invalid: Sequence[InvalidEntry]
    is_list: bool = True  # a list (a batch), not a single call
    name: str | None = None  # the batch's name: the schedule's, the event's source


@dataclass
class _Progress:
    """What became of the orders so far, while they are worked through."""

    placed: list[PlacedCall] = field(default_factory=list)
    invalid: list[InvalidEntry] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)
    to_queue: list[CallOrder] = field(default_factory=list)


def run_batch_id(trigger: TriggerKind, run: str) -> str:
    """The batch id of a schedule run's or a rule event's list: `sch:<digest>`, `evt:<digest>`."""
    return f"{_PREFIX[trigger]}:{sha256(run.encode()).hexdigest()[:20]}"


def request_id_prefix(trigger: TriggerKind, run: str) -> str:
    return f"{run_batch_id(trigger, run)}:"


def entries_digest(
    entries: Sequence[ListEntry], invalid: Sequence[InvalidEntry], name: str | None
) -> str:
    """Identity of a list's entries, after normalisation: the same numbers spelled otherwise
    are the same entries."""
    basis = json.dumps(
        {
            "name": name,
            "valid": [[e.index, e.spec.model_dump(mode="json"), e.request_id] for e in entries],
            "invalid": [[e.index, [error.model_dump() for error in e.errors]] for e in invalid],
        },
        sort_keys=True,
    )
    return sha256(basis.encode()).hexdigest()


class PlaceCalls:
    def __init__(
        self,
        *,
        place_call: PlaceCall,
        queue: CallQueue,
        batches: BatchStore,
        fan_out_threshold: int,
        retention_seconds: int,
        clock: Clock = utc_now,
    ) -> None:
        self._place_call = place_call
        self._queue = queue
        self._batches = batches
        self._fan_out_threshold = fan_out_threshold
        self._retention_seconds = retention_seconds
        self._clock = clock

    def __call__(
        self, command: PlaceCallsCommand, *, remaining_seconds: Callable[[], float]
    ) -> PlaceCallsReport:
        prefix = request_id_prefix(command.trigger, command.run)
        batch_id = prefix[:-1] if command.is_list else None
        orders, duplicates = call_orders(command.trigger, command.entries, prefix, batch_id)
        progress = _Progress(invalid=sorted([*command.invalid, *duplicates], key=lambda e: e.index))
        for entry in progress.invalid:
            _report_invalid(command.trigger, entry)
        fans_out = len(orders) > self._fan_out_threshold
        if fans_out:
            orders = self._queueable(command.trigger, orders, progress)
        # Opened with the calls it will hold, before any is placed: a retried run finds it.
        if batch_id is not None:
            self._open_batch(command, batch_id, orders)
        if orders:
            count("CallsRequested", len(orders))
        if fans_out:
            progress.to_queue = orders
        else:
            self._place_in_turn(command.trigger, orders, progress, remaining_seconds)
        if progress.invalid:
            count("CallListEntriesInvalid", len(progress.invalid))
        if progress.to_queue:
            self._queue.send(progress.to_queue)
            count("CallsQueued", len(progress.to_queue))
        return _reported(command, batch_id, prefix, progress)

    def _open_batch(
        self, command: PlaceCallsCommand, batch_id: str, orders: list[CallOrder]
    ) -> None:
        """Record the list as a batch, once: a retried run finds its record and goes on."""
        now = self._clock()
        self._batches.open(
            Batch(
                batch_id=batch_id,
                name=command.name,
                created_at=now,
                total=len(orders),
                entries_digest=entries_digest(command.entries, command.invalid, command.name),
                answer={},
                enqueued=True,
            ),
            expires_at=int(now.timestamp()) + self._retention_seconds,
        )

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
            elif result.skipped is not None:
                progress.skipped.append(
                    SkippedEntry(
                        index=order.index, rule=result.skipped, phone=mask_phone(order.spec.phone)
                    )
                )
                if order.batch_id is not None:
                    self._batches.skip(order.batch_id, order.index, result.skipped)
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


def _reported(
    command: PlaceCallsCommand, batch_id: str | None, prefix: str, progress: _Progress
) -> PlaceCallsReport:
    report = PlaceCallsReport(
        trigger=command.trigger,
        batch_id=batch_id,
        request_id_prefix=prefix,
        received=command.received,
        placed=progress.placed,
        queued=len(progress.to_queue),
        invalid=progress.invalid,
        skipped=progress.skipped,
    )
    logger.info(
        "call list handled",
        extra={
            "trigger": command.trigger.value,
            "batch_id": batch_id,
            "request_id_prefix": prefix,
            "received": report.received,
            "placed": len(report.placed),
            "queued": report.queued,
            "invalid": len(report.invalid),
            "skipped": len(report.skipped),
        },
    )
    return report


def call_orders(
    trigger: TriggerKind, entries: Sequence[ListEntry], prefix: str, batch_id: str | None
) -> tuple[list[CallOrder], list[InvalidEntry]]:
    """The orders of a list's valid entries; an entry repeating an earlier one is reported."""
    orders: list[CallOrder] = []
    duplicates: list[InvalidEntry] = []
    by_spec: dict[CallSpec, int] = {}
    by_request_id: dict[str, int] = {}
    for entry in entries:
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
                trigger=trigger,
                index=entry.index,
                request_id=request_id,
                spec=entry.spec,
                batch_id=batch_id,
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
