"""Place one call taken from the calls queue: an entry of a fanned-out list, or a retry.

A definitive outcome consumes the message: accepted or refused by the provider, skipped by a
calling rule (counted on its batch), or impossible as asked (its send time passed while it
waited, its request id was used for another call), the last reported in the logs and a metric.
A failure that may pass raises `RetryLater`: the batch reports this message alone as failed,
SQS delivers it again after its visibility timeout, and moves it to the dead-letter queue after
the queue's maxReceiveCount. A message delivered twice is answered
from the idempotency store the second time: the provider hears of the call once.
"""

from __future__ import annotations

from esms_calls.domain.orders import CallOrder
from esms_calls.domain.phone import mask_phone
from esms_calls.errors import ServiceError
from esms_calls.observability import count, logger
from esms_calls.usecases.attempt import Attempt, Disposition, attempt
from esms_calls.usecases.place_call import PlaceCall
from esms_calls.usecases.ports import BatchStore


class RetryLater(ServiceError):
    """The call could not be placed now, for a reason that may pass."""


class PlaceQueuedCall:
    def __init__(self, *, place_call: PlaceCall, batches: BatchStore) -> None:
        self._place_call = place_call
        self._batches = batches

    def register_lambda_context(self, lambda_context: object) -> None:
        self._place_call.register_lambda_context(lambda_context)

    def __call__(
        self, order: CallOrder, *, remaining_seconds: float, receive_count: int
    ) -> Attempt:
        log = {
            "request_id": order.request_id,
            "trigger": order.trigger.value,
            "index": order.index,
            "phone": mask_phone(order.spec.phone),
            "receive_count": receive_count,
        }
        result = attempt(self._place_call, order, remaining_seconds=remaining_seconds)
        if result.disposition is Disposition.RETRY:
            count("QueuedCallsRetried")
            logger.warning(
                "queued call not placed yet: retried later", extra={**log, "cause": result.cause}
            )
            raise RetryLater(result.cause or "retry")
        if result.skipped is not None:
            logger.info("queued call skipped", extra={**log, "rule": result.skipped.value})
            if order.batch_id is not None:
                self._batches.skip(order.batch_id, order.index, result.skipped)
        if result.disposition is Disposition.INVALID and result.error is not None:
            count("CallListEntriesInvalid")
            logger.warning(
                "queued call refused", extra={**log, "errors": [result.error.model_dump()]}
            )
        return result
