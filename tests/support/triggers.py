"""Scheduler target inputs and EventBridge rule events, shaped like the samples in `events/`."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from tests.support.events import load_event

TODAY = "2026-11-28T02:00:00Z"  # 09:00 in Vietnam
TOMORROW = "2026-11-29T02:00:00Z"


def new_schedule() -> str:
    """A schedule's ARN, unique to the test."""
    return (
        "arn:aws:scheduler:ap-southeast-1:123456789012:schedule/default/"
        f"test-{uuid.uuid4().hex[:12]}"
    )


def scheduled(schedule: str, scheduled_time: str, **body: Any) -> dict[str, Any]:
    """What Scheduler invokes the function with: the template's Input, context attributes filled."""
    return {"schedule": schedule, "scheduled_time": scheduled_time, **body}


def rule_event(detail: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """An EventBridge event as a rule delivers it (like `events/rule_calls_requested.json`)."""
    event = copy.deepcopy(load_event("rule_calls_requested.json"))
    event["id"] = event_id or str(uuid.uuid4())
    event["detail"] = detail
    return event


def phones(n: int, start: int = 0) -> list[str]:
    """n distinct Vietnamese mobile numbers."""
    return [f"09{i:08d}" for i in range(start, start + n)]
