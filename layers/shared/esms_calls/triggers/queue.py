"""The calls queue's batches, through Powertools' batch utility and parser: each message's body
is parsed as a `CallOrder`, each order placed on its own, and only the messages that failed
(for a reason that may pass, or unreadable) are reported back (ReportBatchItemFailures), so SQS
retries them alone and, past maxReceiveCount, moves them to the dead-letter queue."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import Json, ValidationError

from esms_calls import dependencies
from esms_calls.domain.orders import CallOrder
from esms_calls.observability import count, logger


class QueuedCallRecord(SqsRecordModel):
    body: Json[CallOrder]


class _CallsQueueProcessor(BatchProcessor):
    """Powertools' processor, saying which fields made a message unreadable (never their values:
    they may hold a phone number). Overriding failure_handler is Powertools' documented hook."""

    def failure_handler(self, record: Any, exception: Any) -> Any:
        error = exception[1]
        if isinstance(error, ValidationError) and error.title == QueuedCallRecord.__name__:
            fields = sorted({_location(e["loc"]) for e in error.errors()})
            count("QueuedCallsUnreadable")
            logger.error("unreadable message on the calls queue", extra={"fields": fields})
        return super().failure_handler(record, exception)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc]
    return ".".join(parts[1:] if parts[:1] == ["body"] else parts) or "body"


def handle_queue_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    place_queued_call = dependencies.root().place_queued_call
    place_queued_call.register_lambda_context(context)

    def place(record: QueuedCallRecord) -> None:
        # One message after the other: an invocation has at most one provider request in
        # flight, so the mapping's MaximumConcurrency bounds the fan-out's.
        place_queued_call(
            record.body,
            remaining_seconds=context.get_remaining_time_in_millis() / 1000,
            receive_count=int(record.attributes.ApproximateReceiveCount or 1),
        )

    # A batch whose every message failed is reported like any other, not raised: the answer
    # stays "these failed", and the mapping retries exactly those.
    processor = _CallsQueueProcessor(
        event_type=EventType.SQS, model=QueuedCallRecord, raise_on_entire_batch_failure=False
    )
    response = process_partial_response(
        event=event, record_handler=place, processor=processor, context=context
    )
    return dict(response)
