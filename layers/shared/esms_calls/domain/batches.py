"""Batches: many calls placed under one id, and the summary of what became of them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from esms_calls.domain.calling_rules import CallingRule
from esms_calls.domain.calls import CallOutcome, CallResult, CallStatus

# `outcome` of a call the provider refused (the CallsTable's `outcome` attribute).
REFUSED = "REFUSED"
OUTCOMES = (*(outcome.value for outcome in CallOutcome), REFUSED)


def batch_request_id(batch_id: str, index: int) -> str:
    return f"batch:{batch_id}:{index}"


@dataclass(frozen=True)
class Batch:
    batch_id: str
    name: str | None
    created_at: datetime
    total: int  # valid entries: the calls the batch places, or skips by a calling rule
    entries_digest: str  # the same id with other entries is refused
    answer: dict[str, Any]  # what POST /batches answered, replayed as is
    enqueued: bool = False  # every call was handed to the calls queue
    # The indexes of the entries a calling rule forbade, by rule (when accepted or placed).
    skipped: dict[CallingRule, frozenset[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchCall:
    """A call of a batch as its index holds it (the summary's and the CSV's columns)."""

    call_id: str
    request_id: str
    phone: str
    status: CallStatus
    outcome: str | None
    result: CallResult | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class BatchSummary:
    batch_id: str
    name: str | None
    created_at: datetime
    total: int
    placed: int
    by_status: dict[str, int]
    by_outcome: dict[str, int]
    skipped: dict[str, int]
    keys_pressed: dict[str, int]
    cost: Decimal
    finished: bool
    finished_at: datetime | None


def summarise(batch: Batch, calls: Iterable[BatchCall]) -> BatchSummary:
    """Counted from the calls as they are now: each call is one entry, so a callback repeated,
    reordered or retried after a failed write can never count twice."""
    rows = list(calls)
    by_status = Counter({status.value: 0 for status in CallStatus})
    by_outcome = Counter(dict.fromkeys(OUTCOMES, 0))
    keys: Counter[str] = Counter()
    cost = Decimal(0)
    for row in rows:
        by_status[row.status.value] += 1
        if row.status.is_final and row.outcome:
            by_outcome[row.outcome] += 1
        if row.result is not None:
            if row.result.ivr:
                keys[row.result.ivr] += 1
            if row.result.price is not None:
                cost += row.result.price
    skipped = {rule.value: len(batch.skipped.get(rule, ())) for rule in CallingRule}
    settled = len(rows) + sum(skipped.values())
    finished = settled >= batch.total and all(row.status.is_final for row in rows)
    finished_at = None
    if finished:
        finished_at = max((row.updated_at for row in rows), default=batch.created_at)
    return BatchSummary(
        batch_id=batch.batch_id,
        name=batch.name,
        created_at=batch.created_at,
        total=batch.total,
        placed=len(rows),
        by_status=dict(by_status),
        by_outcome=dict(by_outcome),
        skipped=skipped,
        keys_pressed=dict(sorted(keys.items())),
        cost=cost,
        finished=finished,
        finished_at=finished_at,
    )
