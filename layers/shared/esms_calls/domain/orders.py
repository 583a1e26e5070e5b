"""A call ordered by a trigger (schedule, rule event, fan-out message): what to place, under which
request id, and where it stood in its list. It is also the calls queue's message body: versioned,
and strict, so that a message that is not one of ours is refused whole."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from esms_calls.domain.calling_rules import CallingRule
from esms_calls.domain.calls import CallSpec
from esms_calls.domain.ids import BATCH_ID_PATTERN, REQUEST_ID_PATTERN


class TriggerKind(StrEnum):
    SCHEDULE = "schedule"  # an EventBridge Scheduler target input
    RULE = "rule"  # an EventBridge event matched by a rule
    BATCH = "batch"  # POST /batches


class EntryError(BaseModel):
    field: str
    message: str


class InvalidEntry(BaseModel):
    """An entry of a list that is not placed, and why."""

    index: int
    errors: list[EntryError]
    phone: str | None = None  # masked: enough to recognise the entry, never the whole number


class SkippedEntry(BaseModel):
    """A valid entry of a list that a calling rule forbids: not placed, counted by its rule."""

    index: int
    rule: CallingRule
    phone: str | None = None  # masked


@dataclass(frozen=True)
class ListEntry:
    """A valid entry of a list."""

    index: int
    spec: CallSpec
    # The batch the call belongs to (a POST /batches, a schedule run's or a rule event's list).
    batch_id: str | None = Field(default=None, pattern=BATCH_ID_PATTERN)
    request_id: str | None = None  # the producer's own id, where the trigger allows one


class CallOrder(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = 1
    trigger: TriggerKind
    index: int = Field(ge=0)  # position in the trigger's list (0 for a single call)
    request_id: str = Field(pattern=REQUEST_ID_PATTERN)
    spec: CallSpec
    # The batch the call belongs to (a POST /batches, a schedule run's or a rule event's list).
    batch_id: str | None = Field(default=None, pattern=BATCH_ID_PATTERN)


# Orders per chunk: a 10,000-call batch is 100 messages (10 SendMessageBatch requests) in the
# request path; even with every option set, 100 orders are far below SQS's 256 KB.
CHUNK_SIZE = 100


class OrderChunk(BaseModel):
    """Many orders in one calls-queue message: how a batch reaches the queue within its request.
    The queue's consumer fans a chunk out into one message per order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = 1
    orders: list[CallOrder] = Field(min_length=1, max_length=CHUNK_SIZE)
