"""The calls queue's batches, through Powertools' batch utility: each message is placed on its
own, and only the messages that failed for a reason that may pass are reported back
(ReportBatchItemFailures), so SQS retries them alone."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from esms_calls.usecases import place_call
from esms_calls.usecases.place_queued_call import place_queued_call


@cache
def _processor() -> BatchProcessor:
    # A batch whose every message failed is reported like any other, not raised: the answer
    # stays "these failed", and the mapping retries exactly those.
    return BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def handle_queue_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    place_call.register_lambda_context(context)

    def place(record: SQSRecord) -> None:
        # One message after the other: an invocation has at most one provider request in
        # flight, so the mapping's MaximumConcurrency bounds the fan-out's.
        place_queued_call(
            record.body,
            remaining_seconds=context.get_remaining_time_in_millis() / 1000,
            receive_count=int(record.attributes.approximate_receive_count or 1),
        )

    response = process_partial_response(
        event=event, record_handler=place, processor=_processor(), context=context
    )
    return dict(response)
