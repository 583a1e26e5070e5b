"""A call ordered by a trigger (schedule, rule event, fan-out message): what to place, under which
request id, and where it stood in its list."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from esms_calls.domain.calls import CallSpec


class TriggerKind(StrEnum):
    SCHEDULE = "schedule"  # an EventBridge Scheduler target input
    RULE = "rule"  # an EventBridge event matched by a rule


@dataclass(frozen=True)
class CallOrder:
    trigger: TriggerKind
    index: int  # position in the trigger's list (0 for a single call)
    request_id: str
    spec: CallSpec
