"""A call ordered by a trigger (schedule, rule event, fan-out message): what to place, under which
request id, and where it stood in its list. It is also the calls queue's message body: versioned,
and strict, so that a message that is not one of ours is refused whole."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from esms_calls.domain.calls import CallSpec
from esms_calls.domain.ids import REQUEST_ID_PATTERN


class TriggerKind(StrEnum):
    SCHEDULE = "schedule"  # an EventBridge Scheduler target input
    RULE = "rule"  # an EventBridge event matched by a rule


class CallOrder(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = 1
    trigger: TriggerKind
    index: int = Field(ge=0)  # position in the trigger's list (0 for a single call)
    request_id: str = Field(pattern=REQUEST_ID_PATTERN)
    spec: CallSpec
