"""Place a batch (`POST /batches`): record it under its id, hand every call to the calls queue.

Idempotent by batch id. The batch record is written first, conditionally, holding the answer
and a digest of the entries: the same id again with the same entries is answered with the
stored answer (a replay), with other entries it is refused. Each call's request id is
`batch:<batch_id>:<index>`, so a message queued twice is placed once (the placement's own
idempotency); that is what makes it safe, when an earlier attempt stopped between recording the
batch and queueing all of it (a timeout, a crash), to queue everything again.

Nothing is placed within the request: the calls go to the queue a hundred to a message (a
10,000-call batch is ten SendMessageBatch requests), its consumer fans each chunk out into one
message per call (`ExpandChunk`), and places them with the concurrency the queue's mapping
allows: the answer comes in seconds whatever the batch's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from esms_calls.domain.batches import Batch
from esms_calls.domain.calling_rules import CallingRule
from esms_calls.domain.orders import (
    CallOrder,
    InvalidEntry,
    ListEntry,
    OrderChunk,
    SkippedEntry,
    TriggerKind,
)
from esms_calls.domain.phone import mask_phone
from esms_calls.errors import BatchIdBoundToOtherEntries
from esms_calls.observability import count, logger
from esms_calls.usecases.calling_rules import CallingRules
from esms_calls.usecases.place_calls import call_orders, entries_digest
from esms_calls.usecases.ports import BatchStore, CallQueue, Clock, utc_now


@dataclass(frozen=True)
class PlaceBatchCommand:
    batch_id: str
    name: str | None
    entries: Sequence[ListEntry]
    invalid: Sequence[InvalidEntry]


class BatchAccepted(BaseModel):
    batch_id: str
    accepted: int
    invalid: list[InvalidEntry]
    skipped: list[SkippedEntry] = []  # forbidden by a calling rule: not queued
    replayed: bool = False


class PlaceBatch:
    def __init__(
        self,
        *,
        batches: BatchStore,
        queue: CallQueue,
        rules: CallingRules,
        retention_seconds: int,
        clock: Clock = utc_now,
    ) -> None:
        self._batches = batches
        self._queue = queue
        self._rules = rules
        self._retention_seconds = retention_seconds
        self._clock = clock

    def __call__(self, command: PlaceBatchCommand) -> BatchAccepted:
        prefix = f"batch:{command.batch_id}:"
        orders, duplicates = call_orders(
            TriggerKind.BATCH, command.entries, prefix, command.batch_id
        )
        invalid = sorted([*command.invalid, *duplicates], key=lambda entry: entry.index)
        now = self._clock()
        queued, skipped = self._screened(orders, now)
        answer = BatchAccepted(
            batch_id=command.batch_id, accepted=len(queued), invalid=invalid, skipped=skipped
        )
        digest = entries_digest(command.entries, command.invalid, command.name)
        earlier = self._batches.open(
            Batch(
                batch_id=command.batch_id,
                name=command.name,
                created_at=now,
                total=len(orders),
                entries_digest=digest,
                answer=answer.model_dump(mode="json", exclude={"replayed"}),
                skipped=_by_rule(skipped),
            ),
            expires_at=int(now.timestamp()) + self._retention_seconds,
        )
        log = {
            "batch_id": command.batch_id,
            "accepted": len(queued),
            "invalid": len(invalid),
            "skipped": len(skipped),
        }
        if earlier is not None:
            if earlier.entries_digest != digest:
                raise BatchIdBoundToOtherEntries(command.batch_id)
            answer = BatchAccepted.model_validate({**earlier.answer, "replayed": True})
            if earlier.enqueued:
                logger.info("batch replayed", extra=log)
                return answer
            logger.warning("batch recorded but not wholly queued before: queued again", extra=log)
            # What the first answer skipped stays skipped; the rest is checked when placed.
            skipped_before = {entry.index for entry in answer.skipped}
            queued = [order for order in orders if order.index not in skipped_before]
        else:
            count("CallsRequested", len(orders))
            if invalid:
                count("CallListEntriesInvalid", len(invalid))
            if skipped:
                count("CallListEntriesSkipped", len(skipped))
        self._queue.send_chunks(queued)
        self._batches.mark_enqueued(command.batch_id)
        count("CallsQueued", len(queued))
        logger.info("batch accepted", extra=log)
        return answer

    def _screened(
        self, orders: list[CallOrder], now: datetime
    ) -> tuple[list[CallOrder], list[SkippedEntry]]:
        """The orders to queue, and the entries a calling rule already forbids."""
        queued: list[CallOrder] = []
        skipped: list[SkippedEntry] = []
        rules = self._rules.screen([order.spec for order in orders], now)
        for order, rule in zip(orders, rules, strict=True):
            if rule is None:
                queued.append(order)
            else:
                skipped.append(
                    SkippedEntry(index=order.index, rule=rule, phone=mask_phone(order.spec.phone))
                )
        return queued, skipped


def _by_rule(skipped: list[SkippedEntry]) -> dict[CallingRule, frozenset[int]]:
    return {
        rule: frozenset(entry.index for entry in skipped if entry.rule is rule)
        for rule in {entry.rule for entry in skipped}
    }


class ExpandChunk:
    """A chunk of a batch taken from the queue: one message per call, back on the queue. Sent
    again when retried, harmlessly: each call's request id places it once."""

    def __init__(self, *, queue: CallQueue) -> None:
        self._queue = queue

    def __call__(self, chunk: OrderChunk) -> None:
        self._queue.send(chunk.orders)
        logger.info(
            "batch chunk fanned out",
            extra={"batch_id": chunk.orders[0].batch_id, "calls": len(chunk.orders)},
        )
