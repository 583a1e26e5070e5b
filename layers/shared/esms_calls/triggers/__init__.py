"""What invokes CallsFunction besides HTTP: EventBridge Scheduler, EventBridge rules, the calls
queue. `kind_of` tells them apart by shape; the modules beside it turn each into a use case.

Scheduler target input (our own shape; the template's example schedule sends it):

    {"schedule": "<aws.scheduler.schedule-arn>",
     "scheduled_time": "<aws.scheduler.scheduled-time>",
     "call": {...}}                         (one call), or
     "calls": [{...}, "0912345678", ...],   (a list; a bare string is a phone number)
     "defaults": {"template_id": "123"}}    (optional, merged under each entry of the list;
                                            {"tts": {...}} too, entries bringing their own
                                            "tts": {"variables": [...]})

Rule event: any EventBridge event whose `detail` is one call, or {"calls": [...], "defaults"}.
Each call is validated exactly as a `POST /calls` body.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from esms_calls.errors import ServiceError


class EventKind(StrEnum):
    HTTP = "HTTP"  # API Gateway HTTP API (payload 2.0)
    QUEUE = "QUEUE"  # SQS batch from the calls queue
    RULE = "RULE"  # an EventBridge event, delivered by a rule
    SCHEDULE = "SCHEDULE"  # an EventBridge Scheduler target input


class UnrecognisedEvent(ServiceError):
    """An invocation of no shape this function serves."""


def kind_of(event: Any) -> EventKind:
    if not isinstance(event, dict):
        raise UnrecognisedEvent("the event is not a JSON object")
    context = event.get("requestContext")
    if isinstance(context, dict) and "http" in context:
        return EventKind.HTTP
    records = event.get("Records")
    if isinstance(records, list) and records:
        if all(isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records):
            return EventKind.QUEUE
        raise UnrecognisedEvent("records of a source other than SQS")
    if "detail-type" in event and "detail" in event:
        return EventKind.RULE
    if "scheduled_time" in event or "schedule" in event:
        return EventKind.SCHEDULE
    raise UnrecognisedEvent("neither HTTP, SQS, an EventBridge event nor a Scheduler input")
